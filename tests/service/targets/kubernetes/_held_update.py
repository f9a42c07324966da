"""Run by a test in its own process: start an adapter's `up` that blocks, say so, and wait to be killed.

`python _held_update.py STATE_DIR MARKER` — SIGKILL it once MARKER exists, as a service dying mid-update.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mcp_adapters.settings import Settings
from mcp_adapters.targets.kubernetes import KubernetesTarget
from mcp_adapters.targets.kubernetes._stacks import Stacks

from tests.doubles.pulumi_cli import FakePulumiCommand
from tests.service.targets.kubernetes.conftest import Log, spec


async def main(state_dir: Path, marker: Path) -> None:
    settings = Settings(state_dir=state_dir, target="kubernetes", pulumi_install_plugins=False)
    cli = FakePulumiCommand()
    gate = cli.hold("up")
    target = KubernetesTarget(settings, stacks=Stacks(settings, command_factory=lambda _: cli))
    await target.start()
    update = asyncio.create_task(target.apply(spec("github"), Log()))
    await asyncio.to_thread(gate.wait_started, 60)
    marker.write_text("held")
    await update  # never returns: the gate stays closed until the process is killed


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
