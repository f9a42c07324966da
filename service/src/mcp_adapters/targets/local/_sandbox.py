"""What a local replica can see: a bubblewrap sandbox that hides the service's state directory.

The state directory holds the database, the key that opens every adapter's
secrets and the Pulumi passphrase. A replica runs code its adapter chose, as the
service's own user, so without a sandbox it could read all of that. With
bubblewrap (Debian's `bubblewrap`) each replica sees the machine read-only, the
state directory replaced by an empty one, its own working directory writable,
its own /proc (no other process, so no other process's environment or root),
and no capabilities when the service runs as root. The network is shared: the
replica must listen on a loopback port the service reaches.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mcp_adapters.errors import ConfigurationError

logger = logging.getLogger("mcp_adapters.local")

Setting = Literal["auto", "bwrap", "none"]


@dataclass(frozen=True)
class Sandbox:
    """How replicas are started: `bwrap` (hidden state, private /proc) or `none` (as the service's user)."""

    mode: Literal["bwrap", "none"]
    hidden: tuple[Path, ...] = ()
    program: str = "bwrap"

    def wrap(self, argv: tuple[str, ...], work: Path) -> tuple[str, ...]:
        if self.mode == "none":
            return argv
        options = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for path in self.hidden:
            options += ["--tmpfs", str(path)]
        options += ["--bind", str(work), str(work), "--chdir", str(work), "--unshare-pid", "--unshare-ipc"]
        if os.geteuid() == 0:
            options += ["--cap-drop", "ALL"]
        return (self.program, *options, "--", *argv)


NO_SANDBOX = Sandbox("none")


def choose(setting: Setting, *, hidden: tuple[Path, ...], development: bool) -> Sandbox:
    """The sandbox replicas get; refuses (ConfigurationError) to run them unsandboxed unless that is a choice."""
    if setting == "none":
        logger.warning("MCP_ADAPTERS_LOCAL_SANDBOX=none: adapters run as this service's user and can read its state")
        return NO_SANDBOX
    sandbox = Sandbox("bwrap", hidden, shutil.which("bwrap") or "bwrap")
    problem = _probe(sandbox)
    if problem is None:
        return sandbox
    why = (
        f"the local target cannot sandbox adapters ({problem}), so an adapter could read this service's state "
        "directory and the key to every adapter's secrets"
    )
    if setting == "bwrap" or not development:
        raise ConfigurationError(
            f"{why}: install bubblewrap (Debian: apt-get install bubblewrap) or, if every adapter is yours, "
            "set MCP_ADAPTERS_LOCAL_SANDBOX=none"
        )
    logger.warning("%s; development mode runs them anyway: install bubblewrap to close this", why)
    return NO_SANDBOX


def _probe(sandbox: Sandbox) -> str | None:
    if shutil.which(sandbox.program) is None:
        return "bwrap is not installed"
    try:
        done = subprocess.run(
            sandbox.wrap(("true",), Path("/")),
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not start: {exc}"
    if done.returncode != 0:
        return f"bwrap fails here: {done.stderr.decode(errors='replace').strip() or done.returncode}"
    return None
