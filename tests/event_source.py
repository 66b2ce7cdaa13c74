"""A publisher process for journal and replay tests: the real Journal, Publisher and ReplayServer, fed with
numbered events at a steady pace instead of camera reads.

Usage: python tests/event_source.py PUB_ENDPOINT REPLAY_ENDPOINT JOURNAL COUNT INTERVAL_S
"""

import sys
import time
import uuid
from dataclasses import asdict

from stream.events import PlateEvent, iso_utc
from stream.journal import Journal
from stream.publisher import Publisher
from stream.replay import ReplayServer


def main() -> None:
    endpoint, replay_endpoint, journal_path, count, interval = sys.argv[1:6]
    epoch = uuid.uuid4().hex[:16]
    journal = Journal(__import__("pathlib").Path(journal_path))
    journal.start_epoch(epoch, time.time())
    publisher = Publisher(endpoint)
    replay = ReplayServer(replay_endpoint, journal, epoch).start()
    time.sleep(1.0)
    for seq in range(1, int(count) + 1):
        now = iso_utc(time.time())
        event = PlateEvent("plate", epoch, seq, "test", f"AB{seq:05d}", 0.9, [0.9] * 7, [], now, now, 3,
                           [0, 0, 10, 5], 0, None, "synthetic")
        body = event.to_json()
        journal.append(epoch, seq, asdict(event), body)
        publisher.send("plate", body)
        print(seq, flush=True)
        time.sleep(float(interval))
    time.sleep(float(sys.argv[6]) if len(sys.argv) > 6 else 3.0)
    replay.stop()
    publisher.close()
    journal.close()


if __name__ == "__main__":
    main()
