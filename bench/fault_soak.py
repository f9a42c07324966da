"""The kill -9 trials of `tests/service/test_faults_crash.py`, as many as asked, for a longer soak than the suite's ten.

    .venv/bin/python -m bench.fault_soak [--trials 50] [--first 100]

Each trial is seeded (seeds FIRST .. FIRST+TRIALS-1, printed with each result): a random burst of creates, updates
and deletes on a few adapters, the service killed after a random delay, restarted, the unanswered requests sent
again, and everything checked to converge with exactly one bridge per replica. Prints the failed seeds (rerun one
with MCP_ADAPTERS_CRASH_SEEDS=N-N and pytest) and how long the trials took.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--first", type=int, default=100, help="the first seed (the suite uses 0-9)")
    args = parser.parse_args()
    seeds = f"{args.first}-{args.first + args.trials - 1}"
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/service/test_faults_crash.py", "-p", "no:cacheprovider", "-rA", "-q"],
        cwd=ROOT,
        env={**os.environ, "MCP_ADAPTERS_CRASH_SEEDS": seeds},
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - began
    passed = re.findall(r"PASSED \S+\[seed=(\d+)\]", result.stdout)
    failed = re.findall(r"FAILED \S+\[seed=(\d+)\]", result.stdout)
    each = elapsed / args.trials
    print(f"seeds {seeds}: {len(passed)} passed, {len(failed)} failed, {elapsed:.0f} s ({each:.1f} s a trial)")
    if failed:
        print("failed seeds:", ", ".join(failed))
        print(result.stdout[-4000:])
    sys.exit(1 if failed or result.returncode else 0)


if __name__ == "__main__":
    main()
