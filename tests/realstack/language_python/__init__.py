"""A stand-in for `pulumi-language-python`, the Pulumi engine's Python language host (tests only).

The Go module proxy here does not serve the real host (`github.com/pulumi/pulumi/sdk/python/cmd/
pulumi-language-python/v3`), and without it the engine can run neither the root Python project nor the Python
policy pack. `install(bin_dir)` writes a `pulumi-language-python` launcher into `bin_dir`; put that directory on
PATH before the engine's own and the engine starts it like the real host and talks to it over the same
`LanguageRuntime` gRPC service (`_server`): a preview calls GetPluginInfo, About, GetRequiredPackages, Run
and Cancel (UNIMPLEMENTED, which the engine accepts), `--policy-pack` adds RunPlugin, `pulumi about`
GetProgramDependencies and `pulumi install` InstallDependencies. Programs run in the project's virtualenv
through `_exec`, which does the job of the SDK's `pulumi-language-python-exec`; policy packs run as
`python <pack dir>` with their output streamed back to the engine.

What it does not do, unlike the real host: create, `uv sync` or install into the virtualenv (it must exist;
InstallDependencies only says so), the poetry toolchain, the `typechecker` option, debugging, plugins without a
`__main__.py` (`python -m pulumi.run.plugin`), Python version checks, tracing, and the code generators
(GenerateProject/Program/Package, Pack, Link, Template, RuntimeOptionsPrompts answer UNIMPLEMENTED). Required
packages and program dependencies come from the distributions installed in the virtualenv, not from the
toolchain's lock (`uv export`/`pip list`).
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[3]

_LAUNCHER = """#!{python}
# pulumi-language-python stand-in for the mcp-adapters tests: see tests/realstack/language_python/.
import sys

sys.path.insert(0, {root!r})
from tests.realstack.language_python._server import main

sys.exit(main(sys.argv[1:]))
"""


def install(bin_dir: Path) -> Path:
    """Write the `pulumi-language-python` launcher (run by this interpreter) into `bin_dir`; returns its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    launcher = bin_dir / "pulumi-language-python"
    launcher.write_text(_LAUNCHER.format(python=sys.executable, root=str(_REPO_ROOT)))
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return launcher
