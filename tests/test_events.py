"""The wire messages: their JSON, both ways, as documented, and over a real ZeroMQ socket."""

import json
import re
import time
from dataclasses import fields

import numpy as np
import pytest
import zmq

import stream.events
from stream.direction import Direction
from stream.events import (MESSAGES, TOPICS, Alert, AlertMatch, Heartbeat, PlateEvent, PlateRead, Read, WireMessage,
                           decode)
from stream.publisher import Publisher
from stream.subscriber import parse

EVENT = PlateEvent(epoch="e1", seq=7, camera="gate", plate="AB12CDE", confidence=0.91, char_confidences=[0.99] * 7,
                   candidates=[{"plate": "AB12CDF", "confidence": 0.05}], first_seen="2026-11-24T10:00:00.000Z",
                   last_seen="2026-11-24T10:00:01.500Z", frames=12, box=[10, 20, 90, 30], best_frame=40,
                   plate_format="uk", source="demo.mp4", zone="lane1", zone_event="entering",
                   direction=Direction(90.0, ("up", "approaching"), (0.0, -40.0), 0.2), speed_px_s=40.0,
                   alerts=(AlertMatch("stolen", "AB12*", 0),))
BEAT = Heartbeat(camera="gate", frames_read=120, frames_processed=118, frames_dropped=2, frames_skipped=0,
                 reconnects=1, fps=11.8, queue_depth=1)
READ = Read(camera="gate", frame=40, plate="AB12CDE", confidence=0.8765, box=[10, 20, 90, 30], plate_format="uk_front")
EXAMPLES: list[WireMessage] = [EVENT, Alert.of(EVENT, EVENT.alerts[0], 3), READ, BEAT]


def test_heartbeat_and_read_json_are_the_fields_in_order_compact():
    assert BEAT.to_json() == ('{"type":"heartbeat","camera":"gate","frames_read":120,"frames_processed":118,'
                              '"frames_dropped":2,"frames_skipped":0,"reconnects":1,"fps":11.8,"queue_depth":1,'
                              '"replay_alive":null}')
    assert READ.to_json() == ('{"type":"read","camera":"gate","frame":40,"plate":"AB12CDE","confidence":0.8765,'
                              '"box":[10,20,90,30],"plate_format":"uk_front"}')


def test_a_read_message_rounds_the_confidence_and_the_box():
    read = PlateRead(40, 4.0, (9.6, 20.4, 90.5, 29.5), 0.99, np.zeros((2, 3)), "AB12CDE", 0.876543,
                     plate_format="uk_front")
    assert Read.of(read, "gate") == Read(camera="gate", frame=40, plate="AB12CDE", confidence=0.8765,
                                         box=[10, 20, 90, 30], plate_format="uk_front")


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: m.topic)
def test_every_message_reads_back_from_its_json(message):
    assert message.type == message.topic
    assert type(message).from_json(message.to_json()) == message
    assert decode(message.topic, message.to_json().encode()) == message


def test_plate_event_json_nests_direction_and_alerts():
    data = json.loads(EVENT.to_json())
    assert data["direction"] == {"angle": 90.0, "labels": ["up", "approaching"], "velocity": [0.0, -40.0],
                                 "growth": 0.2}
    assert data["alerts"] == [{"list": "stolen", "entry": "AB12*", "distance": 0}]
    assert list(data)[:5] == ["type", "epoch", "seq", "camera", "plate"]


def test_unknown_fields_are_ignored_and_missing_ones_take_their_defaults():
    old = {k: v for k, v in json.loads(EVENT.to_json()).items() if k not in {"zone", "zone_event", "direction",
                                                                           "speed_px_s", "alerts"}}
    event = PlateEvent.from_json({**old, "added_later": 1})
    assert event.alerts == () and event.direction is None and event.plate == "AB12CDE"
    assert Heartbeat.from_json({k: v for k, v in json.loads(BEAT.to_json()).items() if k != "replay_alive"}) == BEAT


def test_bad_json_and_unknown_topics_are_value_errors():
    with pytest.raises(ValueError, match="unknown topic 'plates'"):
        decode("plates", EVENT.to_json())
    with pytest.raises(ValueError):
        Heartbeat.from_json('{"type":"heartbeat","camera":"gate"}')  # counters missing
    with pytest.raises(ValueError):
        Read.from_json(b"{not json")


def test_the_module_docstring_documents_every_field_of_every_topic():
    doc = stream.events.__doc__
    assert "[topic, seq, JSON]" in doc
    sections = re.split(r"\n(?=``\w+`` \()", doc)
    for topic, cls in MESSAGES.items():
        [section] = [s for s in sections if s.startswith(f"``{topic}`` (:class:`{cls.__name__}`)")]
        documented = re.findall(r"^    (\w+): ", section, re.MULTILINE)
        assert documented == [f.name for f in fields(cls)], topic


def test_messages_cross_a_real_socket_as_topic_seq_json(endpoint):
    publisher = Publisher(endpoint)
    socket = zmq.Context.instance().socket(zmq.SUB)
    try:
        socket.setsockopt(zmq.SUBSCRIBE, b"")
        socket.connect(endpoint)
        received: dict[str, list[bytes]] = {}
        deadline = time.monotonic() + 10
        while len(received) < len(TOPICS) and time.monotonic() < deadline:  # until the subscription has joined
            for message in EXAMPLES:
                publisher.send(message)
            while socket.poll(50):
                parts = socket.recv_multipart()
                received.setdefault(parts[0].decode(), parts)
        assert set(received) == set(TOPICS)
        for message in EXAMPLES:
            parts = received[message.topic]
            assert parts[2] == message.to_json().encode() and int(parts[1]) >= 1
            assert parse(parts).typed() == message
    finally:
        socket.close(linger=0)
        publisher.close(drain_s=0)
