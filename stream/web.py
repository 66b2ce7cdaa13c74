"""The live view: one page in the browser with the camera's frames, its plate reads and zones, its last events and
its heartbeat figures, served by aiohttp on a thread of its own.

The camera's thread only hands each processed frame over (:meth:`LiveView.show`: a reference is kept, nothing is
copied or drawn); the web server's thread draws and encodes the latest frame when the page asks for it, at most
``web.fps`` times a second, so the view costs the camera next to nothing.

Routes: ``/`` the page; ``/api/frame.jpg`` the latest frame drawn; ``/api/status`` the camera, its zones and its
last heartbeat; ``/api/events?since=SEQ&limit=N`` this run's plate events with a sequence number above ``SEQ``,
oldest first, from the journal; ``/api/snapshot/NAME`` a journaled JPEG crop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from aiohttp import web

from detector.spec import ZoneSpec
from detector.zones import to_pixels
from stream.config import WebSpec
from stream.events import PlateRead
from stream.journal import Journal

log = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "web_page.html"
"""The page's HTML (its script fetches everything else from the routes)."""

SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.jpg$")
"""File names ``/api/snapshot/`` serves: a plain JPEG name in the snapshot folder, no path."""

READ_COLOUR = (0, 255, 0)
ZONE_COLOUR = (255, 160, 0)


def draw_overlay(image: np.ndarray, reads: Sequence[PlateRead], zones: Sequence[tuple[str, np.ndarray]] = ()) -> np.ndarray:
    """A frame with its zones and plate reads drawn on it.

    Args:
        image: ``(H, W, 3)`` uint8 BGR frame (left untouched).
        reads: The frame's reads: each box with its text and confidence.
        zones: ``(name, (V, 2) polygon in frame pixels)`` of each zone.

    Returns:
        ``(H, W, 3)`` uint8 copy with the drawing.
    """
    canvas = image.copy()
    for name, polygon in zones:
        points = np.round(polygon).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [points], True, ZONE_COLOUR, 2)
        x, y = points.reshape(-1, 2).min(axis=0)
        cv2.putText(canvas, name, (int(x) + 4, int(y) + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, ZONE_COLOUR, 1)
    for read in reads:
        x, y, w, h = (int(round(v)) for v in read.box)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), READ_COLOUR, 2)
        cv2.putText(canvas, f"{read.text} {read.confidence:.2f}", (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    READ_COLOUR, 2)
    return canvas


def authorized(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries the token: ``Bearer TOKEN``, or ``Basic`` with it as the
    password (any user name)."""
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        given = value.strip()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    else:
        return False
    return hmac.compare_digest(given.encode(), token.encode())


@dataclass(frozen=True)
class LiveFrame:
    """The latest processed frame, as the camera's thread handed it over.

    Attributes:
        index: Frame index in the source.
        image: ``(H, W, 3)`` uint8 BGR frame.
        reads: Its plate reads.
    """

    index: int
    image: np.ndarray
    reads: tuple[PlateRead, ...]


class LiveView:
    """The web server of one camera's live view.

    Args:
        spec: Address, login, frame rate and size.
        camera: Camera name shown on the page.
        journal: The run's journal file, where the events come from (read through a connection of the server's own).
        epoch: The run's publisher epoch (its events are listed).
        snapshots: Folder of the journaled JPEG crops, or None where none are kept.
        zones: The camera's zones, drawn on its frames.

    Attributes:
        frames_drawn: Frames drawn and encoded for the page so far.
        cpu_s: CPU seconds the server's thread used, once it has stopped.
    """

    def __init__(self, spec: WebSpec, camera: str, journal: Path, epoch: str, snapshots: Path | None,
                 zones: Sequence[ZoneSpec] = ()) -> None:
        self.spec = spec
        self.camera = camera
        self.journal_path = journal
        self.journal: Journal | None = None
        self.epoch = epoch
        self.snapshots = snapshots
        self.zones = tuple(zones)
        self.stop_event = threading.Event()
        self.frames_drawn = 0
        self.cpu_s = 0.0
        self._latest: LiveFrame | None = None
        self._heartbeat: dict = {}
        self._jpeg: tuple[int, bytes] | None = None  # (frame index, JPEG) last drawn
        self._drawn_at = 0.0
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: OSError | None = None
        self.url = f"http://{spec.host}:{spec.port}/"

    # The camera's thread.

    def show(self, index: int, image: np.ndarray, reads: Sequence[PlateRead]) -> None:
        """Hands over a processed frame (kept by reference: the caller must not change it afterwards)."""
        self._latest = LiveFrame(index, image, tuple(reads))

    def heartbeat(self, figures: dict) -> None:
        """Hands over the camera's latest heartbeat figures."""
        self._heartbeat = dict(figures)

    def start(self) -> "LiveView":
        """Starts the server thread and waits until it listens.

        Raises:
            OSError: If the address cannot be listened on (a port in use), in one line naming it.
        """
        self.journal = Journal(self.journal_path)  # a connection of its own, used by the server's thread
        self._thread = threading.Thread(target=self._serve, name="live-view", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            error = self._error
            reason = os.strerror(error.errno).lower() if (error.errno or 0) > 0 else error.strerror or str(error)
            raise OSError(f"web: cannot listen on {self.spec.host}:{self.spec.port}: {reason}")
        log.info("live view on %s", self.url)
        return self

    def stop(self) -> None:
        """Stops the server and joins its thread."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join()

    # The server's thread.

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self._app(), handle_signals=False, access_log=None)
        try:
            try:
                loop.run_until_complete(runner.setup())
                loop.run_until_complete(web.TCPSite(runner, self.spec.host, self.spec.port).start())
            except OSError as error:  # the address is taken, or not this host's
                self._error = error
                return
            finally:
                self._ready.set()
            loop.run_until_complete(self._until_stopped())
            self.cpu_s = time.thread_time()
            log.info("live view: %d frames drawn, %.2f s of CPU", self.frames_drawn, self.cpu_s)
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()
            assert self.journal is not None
            self.journal.close()

    async def _until_stopped(self) -> None:
        while not self.stop_event.is_set():
            await asyncio.sleep(0.1)

    def _app(self) -> web.Application:
        middlewares = [] if self.spec.token is None else [self._login]
        app = web.Application(middlewares=middlewares)
        app.router.add_get("/", self._page)
        app.router.add_get("/api/frame.jpg", self._frame)
        app.router.add_get("/api/status", self._status)
        app.router.add_get("/api/events", self._events)
        app.router.add_get("/api/snapshot/{name}", self._snapshot)
        return app

    @web.middleware
    async def _login(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if not authorized(request.headers.get("Authorization"), self.spec.token or ""):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="anpr"'})
        return await handler(request)

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE.read_text(), content_type="text/html", headers={"Cache-Control": "no-store"})

    def _drawn(self) -> tuple[int, bytes] | None:
        """The latest frame as a JPEG, drawn again only when a newer frame came and ``1 / fps`` has passed."""
        latest = self._latest
        if latest is None:
            return None
        now = time.monotonic()
        if self._jpeg is not None and (self._jpeg[0] == latest.index or now - self._drawn_at < 1 / self.spec.fps):
            return self._jpeg
        h, w = latest.image.shape[:2]
        zones = [(z.name, to_pixels(np.array(z.points), z.units, (h, w))) for z in self.zones]
        canvas = draw_overlay(latest.image, latest.reads, zones)
        if w > self.spec.max_width:
            canvas = cv2.resize(canvas, (self.spec.max_width, round(h * self.spec.max_width / w)),
                                interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, self.spec.jpeg_quality])
        if ok:
            self._jpeg, self._drawn_at = (latest.index, data.tobytes()), now
            self.frames_drawn += 1
        return self._jpeg

    async def _frame(self, request: web.Request) -> web.Response:
        early = self._drawn_at + 1 / self.spec.fps - time.monotonic()
        if early > 0:  # a client asking faster than web.fps waits its turn (and costs nothing meanwhile)
            await asyncio.sleep(early)
        drawn = self._drawn()
        if drawn is None:
            raise web.HTTPServiceUnavailable(text="no frame yet")
        return web.Response(body=drawn[1], content_type="image/jpeg",
                            headers={"Cache-Control": "no-store", "X-Frame-Index": str(drawn[0])})

    async def _status(self, request: web.Request) -> web.Response:
        zones = [{"name": z.name, "units": z.units, "points": [list(p) for p in z.points], "entry": z.entry}
                 for z in self.zones]
        return web.json_response({"camera": self.camera, "epoch": self.epoch, "zones": zones,
                                  "heartbeat": self._heartbeat, "events_shown": self.spec.events})

    async def _events(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
            limit = int(request.query.get("limit", "1000"))
        except ValueError:
            raise web.HTTPBadRequest(text="since and limit must be whole numbers") from None
        assert self.journal is not None
        stored = self.journal.since(self.epoch, since, max(1, min(limit, 1000)))
        body = "[" + ",".join(event.body for event in stored) + "]"  # the journaled JSON as published
        return web.Response(text=body, content_type="application/json", headers={"Cache-Control": "no-store"})

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = None if self.snapshots is None or not SNAPSHOT_NAME.match(name) else self.snapshots / name
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text=f"no snapshot {name}")
        return web.FileResponse(path, headers={"Cache-Control": "max-age=3600"})

