"""The running system: capture, scan, track, publish."""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from recognizer.engine import PlateNetwork, int8_path, load_keras_network, load_onnx_network
from recognizer.fitting import FormatFit
from stream.alerts import WatchLists
from stream.capture import Capture
from stream.config import AppConfig, resolve
from stream.direction import zone_event
from stream.events import Heartbeat, PlateEvent, PlateRead, Read, iso_utc
from stream.frames import FrameReader
from stream.journal import Journal
from stream.mqtt import MqttForwarder
from stream.publisher import Publisher
from stream.replay import ReplayServer
from stream.sources import classify
from stream.security import load_curve
from stream.snapshots import SnapshotStore
from stream.tracker import FinishedTrack, Tracker
from stream.web import LiveView, draw_overlay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices of one run.

    Attributes:
        source: Source URI.
        camera: Camera name for events (config's when None).
        publish: PUB endpoint (config's when None).
        print_json: Also print every published plate event as a JSON line on stdout.
        realtime: Replay file sources as a live camera (at their frame rate, dropping what it cannot keep up with).
        max_frames: Stop after this many frames.
        annotate: Write an annotated video here.
        replay: Replay REP endpoint (config's when None).
        journal: Journal file (config's when None).
        upstream: Connect the PUB socket to this proxy endpoint instead of binding (config's when None).
        serve_replay: Run a replay server (a supervisor's camera processes leave that to the supervisor).
        serve_mqtt: Forward events to the configured MQTT broker (a supervisor's camera processes leave that to
            the supervisor).
        config_path: The config file, re-read for the watch lists on SIGHUP (None: plates files only).
    """

    source: str
    camera: str | None = None
    publish: str | None = None
    print_json: bool = False
    realtime: bool = False
    max_frames: int | None = None
    annotate: Path | None = None
    replay: str | None = None
    journal: Path | None = None
    upstream: str | None = None
    serve_replay: bool = True
    serve_mqtt: bool = True
    config_path: Path | None = None


def load_network(config: AppConfig) -> PlateNetwork:
    """The configured inference engine with the configured weights, its readings fitted to the camera's plate
    formats where they constrain (``read.constrain``).

    Raises:
        FileNotFoundError: If the model file is missing.
    """
    spec = config.recognizer
    if spec.engine == "onnx":
        network = load_onnx_network(resolve(spec.onnx), config.model, spec.threads)
    elif spec.engine == "onnx_int8":
        network = load_onnx_network(int8_path(resolve(spec.onnx)), config.model, spec.threads)
    else:
        network = load_keras_network(resolve(spec.weights), config.model)
    check = config.format_check
    if not (check.constrain and check.formats):
        return network
    return PlateNetwork(network.runner, config.model, FormatFit.build(config.model, check.formats))


def to_event(track: FinishedTrack, epoch: str, seq: int, camera: str, source: str, start_wall: float,
             entry: str | None = None) -> PlateEvent:
    """A finished track as a publishable event (stream times mapped onto wall time from the run's start); ``entry``
    is the direction vehicles enter the track's zone in, if it names one."""
    r = track.reading
    return PlateEvent(
        type="plate", epoch=epoch, seq=seq, camera=camera, plate=r.text, confidence=round(r.confidence, 4),
        char_confidences=[round(c, 4) for c in r.char_confidences],
        candidates=[{"plate": t, "confidence": round(p, 4)} for t, p in r.candidates],
        first_seen=iso_utc(start_wall + track.first_s), last_seen=iso_utc(start_wall + track.last_s),
        frames=track.frames, box=[int(round(v)) for v in track.best.box], best_frame=track.best.frame,
        plate_format=r.plate_format, source=source, constrained=r.constrained, zone=track.zone,
        zone_event=zone_event(track.direction, entry), direction=track.direction, speed_px_s=track.direction.speed_px_s)


class Annotator:
    """Writes the processed frames with plate boxes and reads drawn on them."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.fps = fps if fps > 0 else 10.0
        self.writer: cv2.VideoWriter | None = None

    def write(self, image: np.ndarray, reads: list[PlateRead]) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = image.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        self.writer.write(draw_overlay(image, reads))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


class StreamRunner:
    """Runs one camera until its source ends or a stop is requested.

    Args:
        config: The application config.
        options: This run's choices.
        network: The loaded network.

    Attributes:
        published: Plate events published so far.
        processed: Frames scanned and read so far.
        skipped: Unreadable frames the source skipped (set when the run ends).
    """

    def __init__(self, config: AppConfig, options: RunOptions, network: PlateNetwork) -> None:
        self.config = config
        self.options = options
        focused = classify(options.source) not in {"image", "folder"}  # unrelated photos: no motion to follow
        self.reader = FrameReader(config, network, focused, snapshots=config.publish.snapshot_quota_mb > 0)
        self.tracker = Tracker(config.track, config.model, config.format_check)
        self.camera = options.camera or config.source.camera
        self.watch = WatchLists(config.alerts, options.config_path)
        self.mqtt: MqttForwarder | None = None
        self.stop_event = threading.Event()
        self.epoch = uuid.uuid4().hex[:16]
        self.snapshots: SnapshotStore | None = None
        self.published = 0
        self.processed = 0
        self.skipped = 0

    def _publish(self, publisher: Publisher, journal: Journal, tracks: list[FinishedTrack], start_wall: float) -> None:
        for track in tracks:
            seq = publisher.next_seq("plate")
            entry = next((z.entry for z in self.config.source.zones if z.name == track.zone), None)
            event = to_event(track, self.epoch, seq, self.camera, self.options.source, start_wall, entry)
            if self.snapshots is not None and track.best.plate_crop is not None:
                stem = f"{self.camera}_{self.epoch}_{seq:06d}"
                event = replace(event, plate_image=self.snapshots.save(f"{stem}_plate.jpg", track.best.plate_crop),
                                vehicle_image=self.snapshots.save(f"{stem}_vehicle.jpg", track.best.vehicle_crop))
            event, alerts = self.watch.alerts_for(event, publisher.next_seq("alert"))
            body = event.to_json()
            journal.append(self.epoch, seq, asdict(event), body, alerts)  # durable before it is sent
            publisher.send(event)
            for alert in alerts:
                publisher.send(alert)
                log.info("alert %s: plate %s matches %s (distance %d)", alert.list, alert.plate, alert.entry,
                         alert.distance)
            if self.mqtt is not None:
                self.mqtt.notify()
            self.published += 1
            log.info("plate %s (%.2f) over %d frames", event.plate, event.confidence, event.frames)
            if self.options.print_json:
                print(body, flush=True)

    def run(self) -> int:
        """Processes the stream; returns the number of plate events published."""
        capture = Capture(self.options.source, self.config.source, self.options.realtime, self.options.max_frames)
        journal_path = self.options.journal or self.config.publish.journal.expanduser()
        quota = self.config.publish.snapshot_quota_mb
        snapshot_folder = journal_path.parent / "snapshots"
        live = None
        if self.config.web.enabled:  # first: a port in use stops the run before anything else starts
            live = LiveView(self.config.web, self.camera, journal_path, self.epoch, snapshot_folder if quota > 0 else None,
                            self.config.source.zones).start()
        journal = Journal(journal_path)
        self.snapshots = SnapshotStore(snapshot_folder, quota) if quota > 0 else None
        start_wall, started = time.time(), time.monotonic()
        journal.start_epoch(self.epoch, start_wall, self.camera)
        publish = self.config.publish
        if publish.mqtt is not None and self.options.serve_mqtt:
            self.mqtt = MqttForwarder(publish.mqtt, journal, self.camera, start_wall, publish.heartbeat_s).start()
        curve = load_curve(publish.curve)
        upstream = self.options.upstream or publish.upstream
        if upstream:
            publisher = Publisher(upstream, connect_to_proxy=True, curve=curve)
        else:
            publisher = Publisher(self.options.publish or publish.endpoint, curve=curve)
        replay = None
        if self.options.serve_replay:
            replay = ReplayServer(self.options.replay or publish.replay_endpoint, journal, self.epoch, curve).start()
        annotator = Annotator(self.options.annotate, capture.info.fps) if self.options.annotate else None
        last_beat = started
        capture.start()
        try:
            for frame in capture.frames():
                now = time.monotonic()
                if now - last_beat >= self.config.publish.heartbeat_s:
                    elapsed = now - started
                    beat = Heartbeat(
                        camera=self.camera, frames_read=capture.stats.read, frames_processed=self.processed,
                        frames_dropped=capture.stats.dropped, frames_skipped=capture.stats.skipped,
                        reconnects=capture.stats.reconnects,
                        fps=round(self.processed / elapsed, 2) if elapsed > 0 else 0.0,
                        queue_depth=capture.queue_depth(), replay_alive=None if replay is None else replay.alive)
                    publisher.send(beat)
                    figures = asdict(beat)  # the forwarder and the live view copy it each
                    if self.mqtt is not None:
                        self.mqtt.heartbeat(figures)
                    if live is not None:
                        live.heartbeat(figures)
                    last_beat = now
                if self.stop_event.is_set():
                    break
                if frame is None:
                    continue
                reads = list(self.reader.read(frame.image, frame.index, frame.time_s,
                                              self.tracker.boxes_at(frame.time_s)).reads)
                self.processed += 1
                if self.config.publish.reads:
                    for read in reads:
                        publisher.send(Read.of(read, self.camera))
                if annotator is not None:
                    annotator.write(frame.image, reads)
                if live is not None:
                    live.show(frame.index, frame.image, reads)
                self._publish(publisher, journal, self.tracker.update(reads, frame.time_s), start_wall)
        finally:
            capture.stop()
            self.reader.close()
            self._publish(publisher, journal, self.tracker.flush(), start_wall)
            if self.mqtt is not None:
                self.mqtt.stop()  # sends what is left while the broker answers (publish.mqtt.drain_s)
            publisher.close()
            if replay is not None:
                replay.stop()
            journal.close()
            if curve is not None:
                curve.close()
            if annotator is not None:
                annotator.close()
            if live is not None:
                live.stop()
        self.skipped = capture.stats.skipped
        log.info("processed %d of %d frames (%d dropped, %d skipped), %d plate events", self.processed,
                 capture.stats.read, capture.stats.dropped, capture.stats.skipped, self.published)
        return self.published


def install_signal_handlers(stop_event: threading.Event) -> None:
    """SIGINT and SIGTERM set ``stop_event`` so that open tracks are finished and published before exit."""

    def handler(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing open tracks", signum)
        stop_event.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)

