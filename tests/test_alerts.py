"""Watch lists: matching with a tolerance for misread characters, patterns, cameras and hours, reloading, and
their config errors."""

import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DEMO, anpr
from stream.alerts import WatchLists, deletions, distance, in_hours, match_lists, normalize, read_plates_file
from stream.config import AlertListSpec, ConfigError, load_config, parse_hours
from stream.events import AlertMatch, PlateEvent
from stream.journal import Journal

NOON = datetime(2026, 11, 24, 12, 0)


@pytest.mark.parametrize(("plate", "pattern", "expected"), [
    ("AB12CDE", "AB12CDE", 0),
    ("AB12CDF", "AB12CDE", 1),   # one character misread
    ("AB12CD", "AB12CDE", 1),    # one character missed
    ("AB112CDE", "AB12CDE", 1),  # one character too many
    ("BA12CDE", "AB12CDE", 2),   # two swapped: two edits
    ("XY99ZZZ", "AB12CDE", 7),
    ("", "AB1", 3),
    ("AB1", "", 3),
    ("AB12CDE", "AB12*", 0),
    ("AB12", "AB12*", 0),        # * also stands for nothing
    ("XB12CDE", "AB12*", 1),
    ("A12", "AB12*", 1),
    ("AB12CDE", "*CDE", 0),
    ("AB12CDE", "AB*DE", 0),
    ("AB12CDE", "AB?2CDE", 0),
    ("AB2CDE", "AB?2CDE", 1),    # ? is exactly one character
    ("AB12CDE", "*", 0),
    ("AB12CDE", "??", 5),
])
def test_distance_counts_the_fewest_edits_to_a_matching_text(plate, pattern, expected):
    assert distance(plate, pattern) == expected


def test_deletions_reach_every_text_a_few_characters_shorter():
    assert deletions("AB1", 1) == {"AB1", "B1", "A1", "AB"}
    assert deletions("AB1", 2) == {"AB1", "B1", "A1", "AB", "A", "B", "1"}
    assert deletions("AB", 0) == {"AB"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("AB1*?", min_size=1, max_size=6), min_size=1, max_size=8), st.text("AB1", max_size=7),
       st.integers(0, 2))
def test_a_lists_indexed_search_finds_what_comparing_every_entry_finds(entries, plate, max_distance):
    watch = lists({"name": "x", "plates": entries, "max_distance": max_distance}).lists[0]
    nearest = min(((distance(plate, normalize(e)), i) for i, e in enumerate(entries)), default=None)
    expected = None if nearest is None or nearest[0] > max_distance else AlertMatch("x", entries[nearest[1]], nearest[0])
    assert watch.best(plate) == expected


def test_normalize_ignores_case_spaces_and_hyphens():
    assert normalize("ab12 cd-e") == "AB12CDE"
    assert normalize(" ab-12* ") == "AB12*"


@pytest.mark.parametrize(("ranges", "minute", "expected"), [
    (((540, 1020),), 540, True),     # 09:00-17:00 at 09:00
    (((540, 1020),), 1020, False),   # ... at 17:00 (end exclusive)
    (((1320, 360),), 1380, True),    # 22:00-06:00 at 23:00
    (((1320, 360),), 60, True),      # ... at 01:00
    (((1320, 360),), 720, False),    # ... at noon
    (((420, 540), (960, 1080)), 1000, True),
    (((0, 0),), 1439, True),         # 00:00-24:00
])
def test_in_hours_runs_over_midnight(ranges, minute, expected):
    assert in_hours(ranges, minute) is expected


def test_parse_hours_reads_ranges_and_rejects_nonsense():
    assert parse_hours("22:00-06:00") == ((1320, 360),)
    assert parse_hours("07:00-09:30, 16:00-24:00") == ((420, 570), (960, 0))
    for bad in ("22-06", "25:00-06:00", "10:61-11:00", "morning"):
        with pytest.raises(ValueError, match="hours"):
            parse_hours(bad)


def lists(*specs: dict) -> WatchLists:
    return WatchLists([AlertListSpec.model_validate(s) for s in specs])


def test_match_gives_each_lists_best_entry_within_its_distance():
    watch = lists({"name": "stolen", "plates": ["AB12CDE", "AB12*"]},
                  {"name": "staff", "plates": ["ab12 cdf"], "max_distance": 0},
                  {"name": "exact", "plates": ["ZZ99ZZZ"], "max_distance": 0})
    assert match_lists(watch.lists, "AB12CDF", "cam0", NOON) == [AlertMatch("stolen", "AB12*", 0),
                                                                  AlertMatch("staff", "ab12 cdf", 0)]
    assert match_lists(watch.lists, "XB12CDE", "cam0", NOON) == [AlertMatch("stolen", "AB12CDE", 1)]
    assert match_lists(watch.lists, "ZZ99ZZY", "cam0", NOON) == []


def test_lists_apply_only_to_their_cameras_and_hours():
    watch = lists({"name": "night", "plates": ["AB12CDE"], "cameras": ["gate"], "hours": "22:00-06:00"})
    assert match_lists(watch.lists, "AB12CDE", "gate", datetime(2026, 11, 24, 23, 30)) != []
    assert match_lists(watch.lists, "AB12CDE", "gate", datetime(2026, 11, 24, 5, 59)) != []
    assert match_lists(watch.lists, "AB12CDE", "gate", NOON) == []
    assert match_lists(watch.lists, "AB12CDE", "road", datetime(2026, 11, 24, 23, 30)) == []


def plate_event(plate: str, seq: int = 4, camera: str = "cam0") -> PlateEvent:
    return PlateEvent(type="plate", epoch="e1", seq=seq, camera=camera, plate=plate, confidence=0.9,
                      char_confidences=[0.9] * len(plate), candidates=[], first_seen="2026-11-24T12:00:00.000Z",
                      last_seen="2026-11-24T12:00:01.000Z", frames=5, box=[1, 2, 3, 4], best_frame=3,
                      plate_format=None, source="test")


def test_alerts_for_marks_the_event_and_numbers_the_alert_messages():
    watch = lists({"name": "stolen", "plates": ["AB12CDE"]}, {"name": "any_ab", "plates": ["AB*"]})
    event, alerts = watch.alerts_for(plate_event("AB12CDF"), first_seq=7)
    assert event.alerts == (AlertMatch("stolen", "AB12CDE", 1), AlertMatch("any_ab", "AB*", 0))
    body = json.loads(event.to_json())
    assert body["alerts"] == [{"list": "stolen", "entry": "AB12CDE", "distance": 1},
                              {"list": "any_ab", "entry": "AB*", "distance": 0}]
    assert [(a.seq, a.list, a.plate, a.plate_seq, a.type) for a in alerts] == [
        (7, "stolen", "AB12CDF", 4, "alert"), (8, "any_ab", "AB12CDF", 4, "alert")]
    untouched, none = watch.alerts_for(plate_event("XY99ZZZ"), first_seq=9)
    assert none == [] and untouched.alerts == ()


def test_plates_file_is_read_and_reloaded_when_it_changes(tmp_path: Path):
    plates = tmp_path / "hot.txt"
    plates.write_text("# stolen last week\nAB12CDE\n\n  XY99 ZZZ  # van\n")
    assert read_plates_file(plates) == ["AB12CDE", "XY99 ZZZ"]
    config = tmp_path / "c.yaml"  # a relative plates_file is taken from the config file's folder
    config.write_text("alerts: [{name: hot, plates_file: hot.txt}]\n")
    watch = WatchLists(load_config(config).alerts, config)
    assert [m.entry for m in watch.match("XY99ZZZ", "cam0", NOON)] == ["XY99 ZZZ"]
    assert watch.match("QQ11QQQ", "cam0", NOON) == []
    plates.write_text("QQ11QQQ\n")
    os.utime(plates, (time.time() + 5, time.time() + 5))  # a new modification time even within one clock tick
    assert [m.entry for m in watch.match("QQ11QQQ", "cam0", NOON)] == ["QQ11QQQ"]
    assert watch.match("XY99ZZZ", "cam0", NOON) == []
    plates.write_text("QQ11[QQ\n")  # a bad edit: the list in force stays
    os.utime(plates, (time.time() + 10, time.time() + 10))
    assert [m.entry for m in watch.match("QQ11QQQ", "cam0", NOON)] == ["QQ11QQQ"]


def test_sighup_rereads_the_lists_from_the_config_file(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("alerts: [{name: a, plates: [AB12CDE]}]\n")
    watch = WatchLists(load_config(config).alerts, config)
    from stream.alerts import reload_on_sighup

    previous = signal.getsignal(signal.SIGHUP)
    try:
        reload_on_sighup(watch)
        config.write_text("alerts: [{name: b, plates: [XY99ZZZ]}]\n")
        assert [m.list for m in watch.match("XY99ZZZ", "cam0", NOON)] == []  # not before the signal
        os.kill(os.getpid(), signal.SIGHUP)
        assert [m.list for m in watch.match("XY99ZZZ", "cam0", NOON)] == ["b"]
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.parametrize(("section", "message"), [
    ("[{name: a, plates: [AB1], colour: red}]", "alerts.0.colour"),
    ("[{name: a, plates: ['AB[12]']}]", "alerts.0.plates.0"),
    ("[{name: a, plates: AB12CDE}]", "alerts.0.plates"),
    ("[{name: a, plates: [AB1], max_distance: -1}]", "alerts.0.max_distance"),
    ("[{name: a, plates: [AB1], hours: 'after dark'}]", "alerts.0.hours"),
    ("[{name: a}]", "needs plates or plates_file"),
    ("[{name: a, plates: [AB1]}, {name: a, plates: [CD2]}]", "used twice"),
    ("[{name: 'a b', plates: [AB1]}]", "alerts.0.name"),
])
def test_malformed_lists_are_config_errors_naming_the_key(tmp_path: Path, section, message):
    config = tmp_path / "c.yaml"
    config.write_text(f"alerts: {section}\n")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("[", r"\[")):
        load_config(config)


def test_a_missing_plates_file_stops_the_run_with_a_clear_error(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("alerts: [{name: a, plates_file: nowhere.txt}]\n")
    result = anpr("run", str(DEMO), "--config", str(config), "--max-frames", "1", "--journal", str(tmp_path / "j.db"))
    assert result.returncode == 2
    assert "anpr: error: alerts.0.plates_file" in result.stderr and "nowhere.txt" in result.stderr


def test_events_command_filters_by_alert_list(tmp_path: Path):
    journal = Journal(tmp_path / "j.db")
    journal.start_epoch("e1", 1.0, "cam0")
    watch = lists({"name": "stolen", "plates": ["AB12CDE"]}, {"name": "vip", "plates": ["VIP1"]})
    alert_seq = 1
    for seq, plate in enumerate(["AB12CDF", "XY99ZZZ", "VIP1"], start=1):
        event, alerts = watch.alerts_for(plate_event(plate, seq), first_seq=alert_seq)
        journal.append("e1", seq, json.loads(event.to_json()), event.to_json(), alerts)
        alert_seq += len(alerts)
    assert [(a.seq, a.data["plate_seq"]) for a in journal.since("e1", 0, topic="alert")] == [(1, 1), (2, 3)]
    journal.close()
    stolen = anpr("events", "--journal", str(tmp_path / "j.db"), "--alert", "stolen", "--json")
    assert stolen.returncode == 0, stolen.stderr
    assert [json.loads(line)["plate"] for line in stolen.stdout.splitlines()] == ["AB12CDF"]
    table = anpr("events", "--journal", str(tmp_path / "j.db"), "--alert", "vip")
    assert "VIP1" in table.stdout and "AB12CDF" not in table.stdout


def test_alerts_are_replayed_like_plate_events(tmp_path: Path):
    from conftest import free_port
    from stream.replay import ReplayServer
    from stream.subscriber import Position, ReliableSubscriber, save_positions

    journal = Journal(tmp_path / "j.db")
    journal.start_epoch("e1", 1.0, "cam0")
    watch = lists({"name": "stolen", "plates": ["AB12CDE"]})
    alert_seq = 1
    for seq, plate in enumerate(["AB12CDE", "XY99ZZZ", "AB12CDF"], start=1):
        event, alerts = watch.alerts_for(plate_event(plate, seq), first_seq=alert_seq)
        journal.append("e1", seq, json.loads(event.to_json()), event.to_json(), alerts)
        alert_seq += len(alerts)
    replay = f"tcp://127.0.0.1:{free_port()}"
    server = ReplayServer(replay, journal, "e1").start()
    try:
        assert server.answer(b'{"epoch": "e1", "since": 1, "topic": "alert"}')["events"][0]["plate"] == "AB12CDF"
        assert "topic must be one of" in server.answer(b'{"topic": "read"}')["error"]
        state = tmp_path / "sub.json"
        save_positions(state, {"cam0": Position("e1", 0)})  # a subscriber that saw no alert of this epoch yet
        subscriber = ReliableSubscriber(f"tcp://127.0.0.1:{free_port()}", replay, state, timeout_s=2, topic="alert")
        got = list(subscriber.events(idle_timeout_s=1.5))
    finally:
        server.stop()
        journal.close()
    assert [(a["seq"], a["plate"], a["plate_seq"], a["type"]) for a in got] == [
        (1, "AB12CDE", 1, "alert"), (2, "AB12CDF", 3, "alert")]
