"""Reading the DIY backend's lock listing, as the real CLI prints it, and telling stale locks from live ones."""

from __future__ import annotations

import socket
import subprocess
from datetime import UTC, datetime, timedelta

from mcp_adapters.targets.kubernetes._locks import LockInfo, all_stale

# `pulumi refresh` (v3.274.1, file:// backend) on a stack holding two lock files, verbatim but for the host.
REFUSED = """error: the stack is currently locked by 2 lock(s). Either wait for the other process(es) to end or \
delete the lock file with `pulumi cancel`.
  file:///srv/backend/.pulumi/locks/organization/mcp-adapter/github/11111111-1111-4111-8111-111111111111.json\
?no_tmp_dir=true: created by mcp@replica-b (pid 4242) at 2026-12-01T13:00:00Z
  file:///srv/backend/.pulumi/locks/organization/mcp-adapter/github/22222222-2222-4222-8222-222222222222.json\
?no_tmp_dir=true: created by mcp@{host} (pid {pid}) at 2026-12-01T12:00:00Z
"""
NOW = datetime(2026, 12, 1, 13, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_every_lock_the_cli_lists_is_read() -> None:
    pid = dead_pid()
    locks = LockInfo.parse(REFUSED.format(host=socket.gethostname(), pid=pid))
    assert [(lock.host, lock.pid) for lock in locks] == [("replica-b", 4242), (socket.gethostname(), pid)]
    assert locks[0].path.endswith("11111111-1111-4111-8111-111111111111.json")
    assert locks[0].created == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def test_a_stale_lock_beside_a_live_one_is_no_reason_to_cancel() -> None:
    locks = LockInfo.parse(REFUSED.format(host=socket.gethostname(), pid=dead_pid()))
    assert locks[1].stale(NOW, HOUR) is not None  # its process, on this host, is gone
    assert locks[0].stale(NOW, HOUR) is None  # five minutes old, on another replica
    assert all_stale(locks, NOW, HOUR) is None
    reasons = all_stale(locks, NOW + 2 * HOUR, HOUR)
    assert reasons is not None
    assert "mcp@replica-b (pid 4242)" in reasons


def test_a_refusal_without_a_readable_lock_is_no_reason_to_cancel() -> None:
    assert all_stale(LockInfo.parse("error: the stack is currently locked by 1 lock(s)."), NOW, HOUR) is None
