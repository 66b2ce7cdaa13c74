"""Watch lists: plates, or patterns of plates, that raise an alert when a camera reads them.

A plate matches an entry when it can be turned into some text the entry's pattern matches with at most
``max_distance`` single-character edits (substitutions, insertions, deletions), so that a plate read with one
character wrong still raises its alert. ``*`` in an entry stands for any run of characters, ``?`` for any one.
Spaces, hyphens and case are ignored on both sides.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from stream.config import AlertListSpec, ConfigError, load_config, parse_hours, plate_entry
from stream.events import Alert, AlertMatch, PlateEvent

log = logging.getLogger(__name__)

_IGNORED = re.compile(r"[\s\-]")


def normalize(text: str) -> str:
    """A plate or entry as it is compared: upper case, without spaces and hyphens (``"ab12-cd e"`` -> ``AB12CDE``)."""
    return _IGNORED.sub("", text).upper()


def distance(plate: str, pattern: str) -> int:
    """The fewest single-character edits that turn ``plate`` into a text ``pattern`` matches.

    Both are compared as given (normalize them first). ``*`` in the pattern matches any run of characters (also
    none), ``?`` any one character; every other character matches itself.

    Args:
        plate: A read plate, e.g. ``AB12CDF``.
        pattern: A watch list entry, e.g. ``AB12CDE`` or ``AB12*``.

    Returns:
        The edit distance: 0 for a match, e.g. 1 for ``("AB12CDF", "AB12CDE")``.
    """
    # row[j]: fewest edits aligning the pattern's first i characters with the plate's first j
    row = list(range(len(plate) + 1))
    for symbol in pattern:
        previous, row = row, [0] * (len(plate) + 1)
        if symbol == "*":
            row[0] = previous[0]
            for j in range(1, len(plate) + 1):
                row[j] = min(previous[j], row[j - 1])
            continue
        row[0] = previous[0] + 1
        for j, char in enumerate(plate, start=1):
            same = symbol == "?" or symbol == char
            row[j] = min(previous[j - 1] + (0 if same else 1), previous[j] + 1, row[j - 1] + 1)
    return row[-1]


def in_hours(ranges: tuple[tuple[int, int], ...], minute: int) -> bool:
    """Whether a minute of the day lies in one of the ranges.

    Args:
        ranges: ``(start, end)`` minutes of the day, end exclusive; a range with ``end <= start`` runs over
            midnight (``(1320, 360)`` is 22:00-06:00).
        minute: Minute of the day, 0 to 1439.
    """
    return any(start <= minute < end if start < end else minute >= start or minute < end for start, end in ranges)


def deletions(text: str, depth: int) -> set[str]:
    """Every text made by deleting up to ``depth`` characters of ``text`` (``text`` itself included).

    Two texts within ``depth`` edits of each other share one of these (a substitution is a deletion on both
    sides), which lets a long list be searched by look-up instead of comparing the plate with every entry.
    """
    found, frontier = {text}, {text}
    for _ in range(depth):
        frontier = {t[:i] + t[i + 1 :] for t in frontier for i in range(len(t))}
        found |= frontier
    return found


def deletion_index(entries: tuple[tuple[str, str], ...], depth: int) -> dict[str, list[int]]:
    """The positions of the literal entries (no ``*`` or ``?``) under each of their :func:`deletions`."""
    index: dict[str, list[int]] = {}
    for position, (_, entry) in enumerate(entries):
        if "*" not in entry and "?" not in entry:
            for variant in deletions(entry, depth):
                index.setdefault(variant, []).append(position)
    return index


@dataclass(frozen=True)
class WatchList:
    """One named list as matched.

    Attributes:
        name: The list's name, put in alerts.
        entries: ``(as written, normalized)`` plates and patterns.
        max_distance: Most character edits between a plate and an entry that still match.
        cameras: Cameras the list applies to (None: all).
        hours: Minute-of-day ranges the list applies in (None: always).
        source: The plates file some entries come from, if any.
        index: :func:`deletion_index` of the entries at ``max_distance``.
        patterns: Positions of the entries with ``*`` or ``?`` (compared one by one).
    """

    name: str
    entries: tuple[tuple[str, str], ...]
    max_distance: int
    cameras: frozenset[str] | None
    hours: tuple[tuple[int, int], ...] | None
    source: Path | None = None
    index: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)
    patterns: tuple[int, ...] = ()

    def applies(self, camera: str, when: datetime) -> bool:
        """Whether the list is in force for this camera at this (local) time."""
        if self.cameras is not None and camera not in self.cameras:
            return False
        return self.hours is None or in_hours(self.hours, when.hour * 60 + when.minute)

    def best(self, plate: str) -> AlertMatch | None:
        """The entry nearest the (normalized) plate within ``max_distance``, first listed on a tie."""
        near = {p for variant in deletions(plate, self.max_distance) for p in self.index.get(variant, ())}
        found: tuple[int, int] | None = None  # (distance, position)
        for position in sorted(near | set(self.patterns)):
            d = distance(plate, self.entries[position][1])
            if d <= self.max_distance and (found is None or d < found[0]):
                found = (d, position)
        return None if found is None else AlertMatch(self.name, self.entries[found[1]][0], found[0])


def read_plates_file(path: Path) -> list[str]:
    """The entries of a plates file: one a line; blank lines and ``#`` comments are left out.

    Raises:
        ConfigError: If the file cannot be read or a line is not a plate or pattern (naming file and line).
    """
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read plates file {path}: {getattr(error, 'strerror', None) or error}") from error
    entries = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            entries.append(plate_entry(text))
        except ValueError as error:
            raise ConfigError(f"{path}:{number}: {error}") from None
    return entries


def build_list(spec: AlertListSpec, base: Path, index: int) -> WatchList:
    """A configured list ready to match: its plates file read (a relative path is taken from ``base``).

    Raises:
        ConfigError: If its plates file cannot be read or holds a bad line.
    """
    written = list(spec.plates)
    source = None
    if spec.plates_file is not None:
        path = spec.plates_file.expanduser()
        path = path if path.is_absolute() else base / path
        try:
            written += read_plates_file(path)
        except ConfigError as error:
            raise ConfigError(f"alerts.{index}.plates_file: {error}") from None
        source = path
    entries = tuple((w, normalize(w)) for w in written)
    cameras = frozenset(spec.cameras) if spec.cameras is not None else None
    hours = parse_hours(spec.hours) if spec.hours is not None else None
    patterns = tuple(i for i, (_, e) in enumerate(entries) if "*" in e or "?" in e)
    return WatchList(spec.name, entries, spec.max_distance, cameras, hours, source,
                     deletion_index(entries, spec.max_distance), patterns)


def match_lists(lists: list[WatchList], plate: str, camera: str, when: datetime) -> list[AlertMatch]:
    """The alerts a plate read by a camera at a (local) time raises: the best entry of each list in force that it
    matches, in list order."""
    plate = normalize(plate)
    found = []
    for watch in lists:
        if watch.applies(camera, when):
            match = watch.best(plate)
            if match is not None:
                found.append(match)
    return found


class WatchLists:
    """The configured watch lists, reloaded while the camera runs.

    A list's plates file is read again when its modification time changes (looked at each time an event is
    matched); the whole ``alerts`` section is read again from the config file after :meth:`request_reload`
    (SIGHUP). A reload that fails is logged and the lists in force are kept.

    Args:
        specs: The ``alerts`` section.
        config_path: The config file the section came from: re-read on reload, and the folder relative plates
            files are taken from (None: the working directory, and SIGHUP re-reads only the plates files).

    Raises:
        ConfigError: If a plates file cannot be read.
    """

    def __init__(self, specs: list[AlertListSpec], config_path: Path | None = None) -> None:
        self.config_path = config_path
        self.base = config_path.parent if config_path is not None else Path.cwd()
        self.specs = specs
        self.lists = [build_list(spec, self.base, index) for index, spec in enumerate(specs)]
        self._file_times = self._times()
        self._reload_requested = threading.Event()

    def request_reload(self) -> None:
        """Asks for the lists to be read again before the next match (safe in a signal handler)."""
        self._reload_requested.set()

    def _times(self) -> dict[Path, float | None]:
        """The modification time of each list's plates file (None: it cannot be read)."""
        times: dict[Path, float | None] = {}
        for path in (w.source for w in self.lists if w.source is not None):
            try:
                times[path] = path.stat().st_mtime
            except OSError:
                times[path] = None
        return times

    def _reload(self) -> None:
        requested, times = self._reload_requested.is_set(), self._times()
        if not requested and times == self._file_times:
            return
        self._reload_requested.clear()
        self._file_times = times  # a reload that fails is tried again when a file changes again
        try:
            specs = load_config(self.config_path).alerts if requested and self.config_path is not None else self.specs
            lists = [build_list(spec, self.base, index) for index, spec in enumerate(specs)]
        except ConfigError as error:
            log.warning("watch lists not reloaded, keeping the %d in force: %s", len(self.lists), error)
            return
        self.specs, self.lists = specs, lists
        self._file_times = self._times()
        log.info("watch lists reloaded: %s", ", ".join(f"{w.name} ({len(w.entries)})" for w in lists) or "none")

    def match(self, plate: str, camera: str, when: datetime) -> list[AlertMatch]:
        """The alerts a plate raises (see :func:`match_lists`), after reloading lists that changed."""
        self._reload()
        return match_lists(self.lists, plate, camera, when)

    def alerts_for(self, event: PlateEvent, first_seq: int) -> tuple[PlateEvent, list[Alert]]:
        """A plate event with the alerts it raises, and the alert messages to publish.

        The lists' hours are judged by the local time the plate was last seen.

        Args:
            event: The plate event.
            first_seq: Sequence number the first alert message will carry on topic ``alert``.

        Returns:
            The event with ``alerts`` set, and one :class:`Alert` per list it matched, numbered from ``first_seq``.
        """
        if not self.lists and not self._reload_requested.is_set():
            return event, []
        when = datetime.fromisoformat(event.last_seen.replace("Z", "+00:00")).astimezone()
        matches = self.match(event.plate, event.camera, when)
        if not matches:
            return event, []
        event = replace(event, alerts=tuple(matches))
        return event, [Alert.of(event, match, first_seq + i) for i, match in enumerate(matches)]


def reload_on_sighup(watch: WatchLists) -> None:
    """SIGHUP makes ``watch`` read its lists again (call from the main thread)."""
    signal.signal(signal.SIGHUP, lambda _signum, _frame: watch.request_reload())
