#!/usr/bin/env python3
"""``python run_camera.py [SOURCE] [options]`` is ``anpr run [SOURCE] [options]``.

With no arguments it replays the built-in demo clip and prints its plate events as JSON lines.
"""

import sys

from stream.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *(sys.argv[1:] or ["--json"])]))
