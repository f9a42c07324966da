"""Runs the conformance suite once per (spec version, target) and prints the scenario table at the end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _suite import ScenarioResult, SuiteUnavailable, ensure_suite, find_node, list_scenarios, run_suite
from _targets import TargetFailed, bridge, direct_server, forward

RESULTS_DIR = Path(__file__).parent / "results"
TARGETS = {"direct": direct_server, "bridge": bridge, "forward": forward}


class ConformanceRuns:
    """Results of every run so far, keyed by (spec version, target); a target that could not start keeps its error."""

    def __init__(self, node: Path, cli: Path, work_dir: Path) -> None:
        self.node, self.cli, self.work_dir = node, cli, work_dir
        self.results: dict[tuple[str, str], dict[str, ScenarioResult]] = {}
        self.errors: dict[tuple[str, str], str] = {}
        self.scenarios: dict[str, list[str]] = {}

    def run(self, spec_version: str, target: str) -> dict[str, ScenarioResult]:
        key = (spec_version, target)
        if key in self.results:
            return self.results[key]
        if key in self.errors:
            raise TargetFailed(self.errors[key])
        self.scenarios.setdefault(spec_version, list_scenarios(self.node, self.cli, spec_version))
        log_dir = self.work_dir / f"{spec_version}-{target}"
        log_dir.mkdir(parents=True, exist_ok=True)
        start = TARGETS[target]
        try:
            with start(log_dir) as url:
                self.results[key] = run_suite(self.node, self.cli, url, spec_version, log_dir / "results")
        except TargetFailed as exc:
            self.errors[key] = str(exc)
            raise
        return self.results[key]


_RUNS: list[ConformanceRuns] = []


@pytest.fixture(scope="session")
def conformance(tmp_path_factory: pytest.TempPathFactory) -> ConformanceRuns:
    try:
        node = find_node()
        cli = ensure_suite(node)
    except SuiteUnavailable as exc:
        pytest.skip(f"conformance suite unavailable: {exc}")
    runs = ConformanceRuns(node, cli, tmp_path_factory.mktemp("conformance"))
    _RUNS.append(runs)
    return runs


def render_table(runs: ConformanceRuns) -> str:
    lines: list[str] = []
    for spec_version, scenarios in runs.scenarios.items():
        lines += [f"### {spec_version}", "", f"| scenario | {' | '.join(TARGETS)} |", "|---" * (len(TARGETS) + 1) + "|"]
        for scenario in scenarios:
            cells = []
            for target in TARGETS:
                if (spec_version, target) in runs.errors:
                    cells.append("not run")
                    continue
                result = runs.results.get((spec_version, target), {}).get(scenario)
                cells.append("-" if (spec_version, target) not in runs.results else _cell(result))
            lines.append(f"| {scenario} | {' | '.join(cells)} |")
        for target in TARGETS:
            if (error := runs.errors.get((spec_version, target))) is not None:
                lines.append(f"\n{target} could not run: {error.splitlines()[0]}")
        lines.append("")
    return "\n".join(lines)


def _cell(result: ScenarioResult | None) -> str:
    if result is None:
        return "no result"
    return "pass" if result.passed else "FAIL"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for runs in _RUNS:
        if not runs.scenarios:
            continue
        table = render_table(runs)
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "table.md").write_text(table)
        terminalreporter.section("MCP conformance (scenario x target)")
        terminalreporter.write_line(table)
        terminalreporter.write_line(f"(also in {RESULTS_DIR / 'table.md'}; suite logs under {runs.work_dir})")
