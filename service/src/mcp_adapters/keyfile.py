"""A generated key kept in a file of its own (mode 0600) under the state directory.

Several processes may share the state directory (service replicas on one machine,
a CLI beside the service) and ask for the key at the same moment: exactly one
creates the file, and every one of them gets what that one wrote.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from mcp_adapters.errors import ConfigurationError

# How long a process that lost the race waits for the winner's content: the winner writes it right after creating
# the file, so only a winner that died in between leaves it empty for longer.
WRITE_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.01


def read_or_create(path: Path, generate: Callable[[], bytes]) -> bytes:
    """The file's content; when there is no file yet, `generate()` written to a new one, unless another process
    created it first: then what that process wrote."""
    try:
        return _read_complete(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    content = generate()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return _read_complete(path)
    with os.fdopen(descriptor, "wb") as file:
        # One write: a reader on a local filesystem sees the file empty or whole, never half of it.
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    return content


def _read_complete(path: Path) -> bytes:
    """The content, once the process that created the file has written it."""
    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    while not (content := path.read_bytes()) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    if not content:
        raise ConfigurationError(
            f"{path} is empty: the process creating it stopped before writing it; remove the file and start again"
        )
    return content
