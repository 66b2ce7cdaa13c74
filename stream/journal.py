"""The event journal: every plate event, and every alert it raised, is written to SQLite (WAL) before it is
published; consumers such as the MQTT forwarder keep their positions in it too."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stream.events import Alert

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    epoch TEXT NOT NULL,
    seq INTEGER NOT NULL,
    camera TEXT NOT NULL,
    plate TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (epoch, seq)
);
CREATE INDEX IF NOT EXISTS events_plate ON events (plate);
CREATE INDEX IF NOT EXISTS events_time ON events (first_seen);
CREATE TABLE IF NOT EXISTS epochs (
    epoch TEXT PRIMARY KEY,
    started REAL NOT NULL,
    camera TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS alerts (
    epoch TEXT NOT NULL,
    seq INTEGER NOT NULL,
    plate_seq INTEGER NOT NULL,
    list TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (epoch, seq)
);
CREATE INDEX IF NOT EXISTS alerts_plate ON alerts (epoch, plate_seq);
CREATE INDEX IF NOT EXISTS alerts_list ON alerts (list);
CREATE TABLE IF NOT EXISTS positions (
    consumer TEXT NOT NULL,
    epoch TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (consumer, epoch)
);
"""

TOPIC_TABLES = {"plate": "events", "alert": "alerts"}
"""The journaled topics and their tables."""


@dataclass(frozen=True)
class StoredEvent:
    """One journaled event.

    Attributes:
        epoch: Publisher epoch that sent it.
        seq: Its sequence number within the epoch.
        body: The event's JSON text, exactly as published.
    """

    epoch: str
    seq: int
    body: str

    @property
    def data(self) -> dict:
        """The decoded event."""
        return json.loads(self.body)


class Journal:
    """A SQLite file of plate events, safe to use from several threads and shared by the camera processes of
    one host (SQLite serialises their writes).

    Args:
        path: Database file; its folder is created.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(epochs)")]
        if "camera" not in columns:  # a journal written before epochs had cameras
            self._db.execute("ALTER TABLE epochs ADD COLUMN camera TEXT NOT NULL DEFAULT ''")

    def start_epoch(self, epoch: str, started: float, camera: str) -> None:
        """Records a new publisher epoch: one run of one camera's process."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO epochs VALUES (?, ?, ?)", (epoch, started, camera))

    def append(self, epoch: str, seq: int, event: dict, body: str, alerts: Sequence[Alert] = ()) -> None:
        """Writes one event, and the alerts it raised, durably in one transaction (committed before this returns).

        Args:
            epoch: Publisher epoch.
            seq: Sequence number.
            event: The event as a dict (for the indexed columns).
            body: The event's JSON text.
            alerts: Its alert messages (topic ``alert``), journaled with it.
        """
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                (epoch, seq, event["camera"], event["plate"], event["first_seen"], event["last_seen"], body))
            self._db.executemany("INSERT INTO alerts VALUES (?, ?, ?, ?, ?)",
                                 [(a.epoch, a.seq, a.plate_seq, a.list, a.to_json()) for a in alerts])

    def since(self, epoch: str, seq: int, limit: int = 1000, topic: str = "plate") -> list[StoredEvent]:
        """Events (or alerts) of an epoch with a sequence number above ``seq``, in order.

        Args:
            epoch: Publisher epoch.
            seq: Last sequence number already received (0 for all).
            limit: Most events returned.
            topic: ``plate`` or ``alert`` (one of :data:`TOPIC_TABLES`).
        """
        with self._lock:
            rows = self._db.execute(
                f"SELECT epoch, seq, body FROM {TOPIC_TABLES[topic]} WHERE epoch = ? AND seq > ? ORDER BY seq LIMIT ?",
                (epoch, seq, limit)).fetchall()
        return [StoredEvent(*row) for row in rows]

    def alerts_of(self, epoch: str, first_plate_seq: int, last_plate_seq: int) -> list[StoredEvent]:
        """The alerts raised by an epoch's plate events ``first_plate_seq`` to ``last_plate_seq``, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT epoch, seq, body FROM alerts WHERE epoch = ? AND plate_seq BETWEEN ? AND ? ORDER BY seq",
                (epoch, first_plate_seq, last_plate_seq)).fetchall()
        return [StoredEvent(*row) for row in rows]

    def position(self, consumer: str, epoch: str) -> int | None:
        """The last plate sequence number of an epoch a consumer (e.g. an MQTT forwarder) has had acknowledged,
        or None when it never followed that epoch."""
        with self._lock:
            row = self._db.execute("SELECT seq FROM positions WHERE consumer = ? AND epoch = ?",
                                   (consumer, epoch)).fetchone()
        return None if row is None else row[0]

    def set_position(self, consumer: str, epoch: str, seq: int) -> None:
        """Stores a consumer's position in an epoch (durably)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)", (consumer, epoch, seq))

    def unfinished(self, consumer: str, camera: str) -> list[tuple[str, int]]:
        """``(epoch, position)`` of a camera's epochs where a consumer has not had every plate event
        acknowledged, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT p.epoch, p.seq FROM positions p JOIN epochs e ON e.epoch = p.epoch "
                "WHERE p.consumer = ? AND e.camera = ? AND EXISTS "
                "(SELECT 1 FROM events v WHERE v.epoch = p.epoch AND v.seq > p.seq) ORDER BY e.started, e.epoch",
                (consumer, camera)).fetchall()
        return [(epoch, seq) for epoch, seq in rows]

    def epochs(self, camera: str | None = None, started_from: float | None = None) -> list[str]:
        """Publisher epochs (of one camera, or all; those started at ``started_from`` or later), oldest first."""
        clauses = [(c, v) for c, v in (("camera = ?", camera), ("started >= ?", started_from)) if v is not None]
        where = f"WHERE {' AND '.join(c for c, _ in clauses)}" if clauses else ""
        args = tuple(v for _, v in clauses)
        with self._lock:
            rows = self._db.execute(f"SELECT epoch FROM epochs {where} ORDER BY started, epoch", args)
            return [row[0] for row in rows]

    def epoch_camera(self, epoch: str) -> str | None:
        """The camera of a journaled epoch, or None for an epoch the journal does not know."""
        with self._lock:
            row = self._db.execute("SELECT camera FROM epochs WHERE epoch = ?", (epoch,)).fetchone()
        return None if row is None else row[0]

    def query(self, plate: str | None = None, camera: str | None = None, start: str | None = None,
              end: str | None = None, limit: int = 1000, alert: str | None = None) -> list[StoredEvent]:
        """Stored events filtered by plate (SQL ``LIKE`` pattern), camera, first-seen time range and watch list.

        Args:
            plate: Plate text or pattern (``%`` and ``_`` wildcards).
            camera: Camera name.
            start: Earliest ``first_seen`` (ISO 8601, inclusive).
            end: Latest ``first_seen`` (ISO 8601, exclusive).
            limit: Most events returned, oldest first.
            alert: Only events that raised an alert on this watch list.
        """
        clauses, args = [], []
        on_list = ("EXISTS (SELECT 1 FROM alerts a WHERE a.epoch = events.epoch AND a.plate_seq = events.seq "
                   "AND a.list = ?)")
        for clause, value in (("plate LIKE ?", plate), ("camera = ?", camera), ("first_seen >= ?", start),
                              ("first_seen < ?", end), (on_list, alert)):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT epoch, seq, body FROM events {where} ORDER BY first_seen, epoch, seq LIMIT ?",
                (*args, limit)).fetchall()
        return [StoredEvent(*row) for row in rows]

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()
