"""A stdio MCP server that misbehaves on purpose, for the fault tests.

    faulty.py crash [CODE]      exit with CODE (default 3) at once, every time it is started
    faulty.py silent            read requests and never answer (a readiness probe never passes)
    faulty.py flood MEGABYTES   write MEGABYTES of text to stderr, then "flood done", then serve normally

Serving normally is the benchmark's minimal server (`add`), in the standard library only.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import minimal_server

LINE = ("x" * 4095 + "\n").encode()


def main() -> None:
    mode = sys.argv[1]
    if mode == "crash":
        print("faulty: crashing on purpose", file=sys.stderr)
        sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    if mode == "silent":
        for _ in sys.stdin:
            pass
        return
    if mode == "flood":
        for _ in range(int(sys.argv[2]) * 256):
            sys.stderr.buffer.write(LINE)
        sys.stderr.buffer.write(b"flood done\n")
        sys.stderr.flush()
    minimal_server.main()


if __name__ == "__main__":
    main()
