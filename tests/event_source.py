"""A publisher process for journal and replay tests: the real Journal, Publisher and ReplayServer, fed with
numbered events at a steady pace instead of camera reads.

Usage: python tests/event_source.py PUB_ENDPOINT REPLAY_ENDPOINT JOURNAL COUNT INTERVAL_S [LINGER_S]
           [--upstream CAMERA]
With ``--upstream`` the PUB socket connects to PUB_ENDPOINT (a proxy) and the events carry camera CAMERA.
"""

import argparse
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from stream.events import PlateEvent, iso_utc
from stream.journal import Journal
from stream.publisher import Publisher
from stream.replay import ReplayServer


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("endpoint", "replay_endpoint", "journal"):
        parser.add_argument(name)
    parser.add_argument("count", type=int)
    parser.add_argument("interval", type=float)
    parser.add_argument("linger", type=float, nargs="?", default=3.0)
    parser.add_argument("--upstream", metavar="CAMERA")
    args = parser.parse_args()
    camera = args.upstream or "test"
    epoch = uuid.uuid4().hex[:16]
    journal = Journal(Path(args.journal))
    journal.start_epoch(epoch, time.time(), camera)
    publisher = Publisher(args.endpoint, connect_to_proxy=args.upstream is not None)
    replay = ReplayServer(args.replay_endpoint, journal, epoch).start()
    time.sleep(1.0)
    for seq in range(1, args.count + 1):
        now = iso_utc(time.time())
        event = PlateEvent(epoch=epoch, seq=seq, camera=camera, plate=f"AB{seq:05d}", confidence=0.9,
                           char_confidences=[0.9] * 7, candidates=[], first_seen=now, last_seen=now, frames=3,
                           box=[0, 0, 10, 5], best_frame=0, plate_format=None, source="synthetic")
        body = event.to_json()
        journal.append(epoch, seq, asdict(event), body)
        publisher.send(event)
        print(seq, flush=True)
        time.sleep(args.interval)
    time.sleep(args.linger)
    replay.stop()
    publisher.close()
    journal.close()


if __name__ == "__main__":
    main()
