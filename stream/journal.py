"""The event journal: every plate event is written to SQLite (WAL) before it is published."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

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
"""


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

    def append(self, epoch: str, seq: int, event: dict, body: str) -> None:
        """Writes one event durably (the transaction is committed before this returns).

        Args:
            epoch: Publisher epoch.
            seq: Sequence number.
            event: The event as a dict (for the indexed columns).
            body: The event's JSON text.
        """
        with self._lock:
            self._db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                (epoch, seq, event["camera"], event["plate"], event["first_seen"], event["last_seen"], body))

    def since(self, epoch: str, seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events of an epoch with a sequence number above ``seq``, in order.

        Args:
            epoch: Publisher epoch.
            seq: Last sequence number already received (0 for all).
            limit: Most events returned.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT epoch, seq, body FROM events WHERE epoch = ? AND seq > ? ORDER BY seq LIMIT ?",
                (epoch, seq, limit)).fetchall()
        return [StoredEvent(*row) for row in rows]

    def epochs(self, camera: str | None = None) -> list[str]:
        """Publisher epochs (of one camera, or all), oldest first."""
        where, args = ("WHERE camera = ?", (camera,)) if camera is not None else ("", ())
        with self._lock:
            rows = self._db.execute(f"SELECT epoch FROM epochs {where} ORDER BY started, epoch", args)
            return [row[0] for row in rows]

    def epoch_camera(self, epoch: str) -> str | None:
        """The camera of a journaled epoch, or None for an epoch the journal does not know."""
        with self._lock:
            row = self._db.execute("SELECT camera FROM epochs WHERE epoch = ?", (epoch,)).fetchone()
        return None if row is None else row[0]

    def query(self, plate: str | None = None, camera: str | None = None, start: str | None = None,
              end: str | None = None, limit: int = 1000) -> list[StoredEvent]:
        """Stored events filtered by plate (SQL ``LIKE`` pattern), camera and first-seen time range.

        Args:
            plate: Plate text or pattern (``%`` and ``_`` wildcards).
            camera: Camera name.
            start: Earliest ``first_seen`` (ISO 8601, inclusive).
            end: Latest ``first_seen`` (ISO 8601, exclusive).
            limit: Most events returned, oldest first.
        """
        clauses, args = [], []
        for clause, value in (("plate LIKE ?", plate), ("camera = ?", camera), ("first_seen >= ?", start),
                              ("first_seen < ?", end)):
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
