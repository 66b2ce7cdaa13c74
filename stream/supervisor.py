"""Many cameras from one config: one process per camera, restarted when it dies, publishing through one
proxy endpoint, with one replay server over their shared journal."""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from stream.config import AppConfig, CameraSpec
from stream.journal import Journal
from stream.mqtt import MqttForwarder
from stream.proxy import Proxy
from stream.replay import ReplayServer
from stream.security import load_curve

log = logging.getLogger(__name__)

RESTART_MAX_S = 30.0
"""Longest wait before restarting a camera process that keeps dying."""

STEADY_S = 60.0
"""A camera process that ran this long before dying is restarted after the first, shortest wait again."""


def camera_command(config_path: Path, camera: CameraSpec, collect_endpoint: str, journal: Path,
                   print_json: bool) -> list[str]:
    """The command line of one camera's process."""
    command = [sys.executable, "-m", "stream.cli", "run", camera.source, "--config", str(config_path),
               "--camera", camera.name, "--upstream", collect_endpoint, "--no-replay", "--no-mqtt", "--journal",
               str(journal)]
    if camera.realtime:
        command.append("--realtime")
    if print_json:
        command.append("--json")
    return command


def _end_with_parent() -> None:
    """In a camera process before it runs: SIGTERM (finish open tracks, exit) when the supervisor dies, even by
    SIGKILL (Linux ``prctl(PR_SET_PDEATHSIG)``)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def restart_delay(failures: int, initial_s: float) -> float:
    """Seconds to wait before the next restart after ``failures`` deaths in a row: doubling, capped."""
    return min(initial_s * 2 ** max(failures - 1, 0), RESTART_MAX_S)


@dataclass
class _Child:
    camera: CameraSpec
    process: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0
    restarts: int = 0
    restart_at: float | None = None
    done: bool = False


class Supervisor:
    """Runs every camera of a config until all have ended (file sources) or a stop is requested.

    Camera processes publish into this process's proxy (``publish.collect_endpoint``), which subscribers reach
    on ``publish.endpoint``; they journal into one SQLite file, which this process's replay server
    (``publish.replay_endpoint``) serves. A process that exits with an error or is killed is restarted with
    doubling backoff; one that ends cleanly (its file was read to the end) is not.

    Args:
        config: The config, with ``cameras``.
        config_path: Its file, passed on to the camera processes.
        journal: The shared journal.
        print_json: Let camera processes print their events as JSON lines.
    """

    def __init__(self, config: AppConfig, config_path: Path, journal: Path, print_json: bool = False) -> None:
        self.config = config
        self.config_path = config_path
        self.journal_path = journal
        self.print_json = print_json
        self.stop_event = threading.Event()
        self.children = [_Child(camera) for camera in config.cameras]

    def hangup(self) -> None:
        """Passes SIGHUP on to the camera processes: each reads its watch lists again."""
        for child in self.children:
            if child.process is not None:
                child.process.send_signal(signal.SIGHUP)

    def _start(self, child: _Child) -> None:
        publish = self.config.publish
        command = camera_command(self.config_path, child.camera, publish.collect_endpoint, self.journal_path,
                                 self.print_json)
        child.process = subprocess.Popen(command, preexec_fn=_end_with_parent)  # noqa: PLW1509 - prctl only
        child.started, child.restart_at = time.monotonic(), None
        log.info("camera %s started, pid %d", child.camera.name, child.process.pid)

    def _check(self, child: _Child, now: float) -> None:
        if child.done:
            return
        if child.process is None:
            if child.restart_at is not None and now >= child.restart_at:
                self._start(child)
                child.restarts += 1
            return
        code = child.process.poll()
        if code is None:
            return
        child.process = None
        if code == 0:
            child.done = True
            log.info("camera %s finished", child.camera.name)
            return
        child.failures = 1 if now - child.started >= STEADY_S else child.failures + 1
        delay = restart_delay(child.failures, self.config.source.reconnect_initial_s)
        child.restart_at = now + delay
        log.warning("camera %s exited with status %d; restarting in %.1f s", child.camera.name, code, delay)

    def _stop_children(self) -> None:
        running = [c.process for c in self.children if c.process is not None]
        for process in running:
            process.terminate()  # each finishes its open tracks, journals and publishes them
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log.warning("camera process %d did not stop; killing it", process.pid)
                process.kill()
                process.wait()

    def run(self) -> int:
        """Supervises until every camera has finished or a stop is requested; returns the number of restarts."""
        publish = self.config.publish
        curve = load_curve(publish.curve)
        journal = Journal(self.journal_path)
        proxy = Proxy(publish.collect_endpoint, publish.endpoint, curve).start()
        replay = ReplayServer(publish.replay_endpoint, journal, None, curve).start()
        started = time.time()  # the forwarders follow the epochs the camera processes start from now on
        forwarders = [] if publish.mqtt is None else [
            MqttForwarder(publish.mqtt, journal, c.camera.name, started, publish.heartbeat_s).start()
            for c in self.children]
        try:
            for child in self.children:
                self._start(child)
            while not self.stop_event.wait(0.2):
                now = time.monotonic()
                for child in self.children:
                    self._check(child, now)
                if all(c.done for c in self.children):
                    break
        finally:
            self._stop_children()
            time.sleep(0.5)  # let the proxy pass on the last events
            for forwarder in forwarders:
                forwarder.stop()
            replay.stop()
            proxy.stop()
            journal.close()
            if curve is not None:
                curve.close()
        restarts = sum(c.restarts for c in self.children)
        log.info("all cameras stopped (%d restarts)", restarts)
        return restarts
