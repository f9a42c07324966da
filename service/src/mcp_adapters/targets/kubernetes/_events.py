"""Engine events -> the operation's log, its change summary, and a preview's planned steps.

The Automation API calls `on_event` from the thread that reads the engine's
event stream; everything here only appends, under the log's own lock.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Literal

from pulumi.automation import EngineEvent, OpType

from mcp_adapters.models import PlannedResource, PreviewFinding
from mcp_adapters.targets.base import OperationLog

_QUIET_OPS = frozenset({OpType.SAME, OpType.READ, OpType.REFRESH})
_ROOT_TYPE = "pulumi:pulumi:Stack"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Policy enforcement levels that block an update, as the engine names them.
_BLOCKING = frozenset({"mandatory", "remediate"})
# The engine's one-line summary of a run it bailed out of, e.g. after a mandatory policy violation.
_BAILED = frozenset({"preview failed", "update failed"})
# How long the end of an event stream may trail the command that produced it.
SETTLE_SECONDS = 10.0
_SUMMARY_AFTER_CANCEL_SECONDS = 1.0
# The engine's warning (deploymentExecutor.printPendingOperationsWarning) when the last deployment was interrupted:
# `up` goes on with the pending operations rather than failing on them.
_PENDING_WARNING = re.compile(
    r"Attempting to deploy or update resources with (\d+) pending operations from previous deployment\."
)


def resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


class EngineProgress:
    """Follows one engine run: logs what changes, keeps errors, steps and policy findings."""

    def __init__(self, log: OperationLog, verb: str) -> None:
        self.log = log
        self.verb = verb
        self.errors: list[str] = []
        self.steps: list[PlannedResource] = []
        self.findings: list[PreviewFinding] = []
        self.changes: dict[str, int] | None = None
        # Operations an interrupted deployment left pending, as the engine warned (0: it did not).
        self.pending_operations = 0
        self._lock = threading.Lock()
        self._summary = threading.Event()
        self._cancelled = threading.Event()

    def __call__(self, event: EngineEvent) -> None:
        with self._lock:
            self._on(event)
        if event.summary_event is not None:
            self._summary.set()
        if event.cancel_event is not None:
            self._cancelled.set()

    def settle(self, timeout: float = SETTLE_SECONDS) -> bool:
        """Wait until the engine's event stream has ended; True when it did within `timeout`.

        The SDK (CLI > 3.205) receives events on a gRPC stream it stops without waiting, so a command can
        return, or the SDK can report "summary event never found", before the last events (the summary,
        policy findings) have reached us. They still come: wait for them rather than lose them.

        Waits for the summary, which every run that got as far as the engine sends; the final cancel event
        alone (a run that failed before) ends the wait after a short grace, since delivery order is not
        guaranteed either.
        """
        deadline = time.monotonic() + timeout
        while not self._summary.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._cancelled.is_set():
                return self._summary.wait(min(left, _SUMMARY_AFTER_CANCEL_SECONDS))
            self._summary.wait(min(left, 0.1))
        return True

    def _on(self, event: EngineEvent) -> None:
        if (pre := event.resource_pre_event) is not None:
            self._step(pre.metadata)
        elif (failed := event.res_op_failed_event) is not None:
            md = failed.metadata
            self.log.write(f"failed to {md.op.value} {md.type} {resource_name(md.urn)}")
        elif (diagnostic := event.diagnostic_event) is not None:
            self._diagnostic(diagnostic.severity, _plain(diagnostic.message), diagnostic.urn)
        elif (policy := event.policy_event) is not None:
            level: Literal["mandatory", "advisory"] = (
                "mandatory" if policy.enforcement_level in _BLOCKING else "advisory"
            )
            resource = resource_name(policy.resource_urn) if policy.resource_urn else policy.policy_pack_name
            message = _plain(policy.message)
            self.findings.append(
                PreviewFinding(policy=policy.policy_name, enforcement=level, resource=resource, message=message)
            )
            self.log.write(f"policy {policy.policy_name} ({policy.enforcement_level}) on {resource}: {message}")
        elif (summary := event.summary_event) is not None:
            self.changes = {_op(k): int(v) for k, v in summary.resource_changes.items()}
            self.log.record_changes(self.changes)
            counts = ", ".join(f"{k} {v}" for k, v in sorted(self.changes.items())) or "no resources"
            self.log.write(f"{self.verb} finished in {summary.duration_seconds}s: {counts}")

    def _step(self, md: Any) -> None:
        if md.type == _ROOT_TYPE:
            return
        # Inputs stay out: the render's (secrets redacted) are in the preview already, the engine's may not be.
        self.steps.append(PlannedResource(type=md.type, name=resource_name(md.urn), op=md.op.value))
        if md.op not in _QUIET_OPS:
            self.log.write(f"{md.op.value} {md.type} {resource_name(md.urn)}")

    def _diagnostic(self, severity: str, message: str, urn: str | None) -> None:
        text = message.strip()
        if not text:
            return
        where = f" ({resource_name(urn)})" if urn else ""
        if severity == "error":
            self.errors.append(text + where)
        if severity == "warning" and (pending := _PENDING_WARNING.search(text)):
            self.pending_operations = int(pending[1])
        if severity in ("error", "warning", "info"):
            self.log.write(f"{severity}{where}: {text}")

    def blocked_by_policy(self) -> bool:
        """The run failed because a mandatory policy said no, and for nothing else: besides the policy events the
        engine reported only its bail-out summary ("preview failed"), no error of a resource or the program."""
        mandatory = any(f.enforcement == "mandatory" for f in self.findings)
        return mandatory and all(error in _BAILED for error in self.errors)

    def error_message(self, fallback: str) -> str:
        """The engine's own words for why the run failed; the CLI's stderr when it gave none."""
        return "; ".join(self.errors) if self.errors else fallback


def _op(kind: object) -> str:
    return kind.value if isinstance(kind, OpType) else str(kind)


def _plain(text: str) -> str:
    return _ANSI.sub("", text)
