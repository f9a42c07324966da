"""The work queue in the database: adapters due for reconciliation, claimed with leases.

A claim is a lease (`claimed_by`, `lease_expires_at`) taken in one transaction
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer). The holder
renews it while it works; a replica that dies simply stops renewing and its
claims expire. Every write of a result is fenced on still holding the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from mcp_adapters.db.engine import readers
from mcp_adapters.db.tables import AdapterRow, OperationRow, utcnow
from mcp_adapters.models import Phase


@dataclass(frozen=True)
class Work:
    row: AdapterRow
    operation: OperationRow | None


@dataclass(kw_only=True)
class Result:
    phase: str
    conditions: list[dict[str, Any]]
    ready: int
    desired: int
    next_attempt_at: datetime
    attempts: int
    observed_generation: int | None = None
    operation_outcome: str | None = None  # set to finish the running operation
    operation_message: str = ""
    refreshed: bool = False  # a requested refresh was done


class WorkQueue:
    def __init__(
        self, sessions: sessionmaker[Session], replica_id: str, lease_seconds: float, keep_operations: int = 50
    ) -> None:
        self.sessions = sessions
        self.reads = readers(sessions)
        self.replica_id = replica_id
        self.lease = timedelta(seconds=lease_seconds)
        self.keep_operations = keep_operations

    def claim(self, limit: int, skip: set[str]) -> list[Work]:
        now = utcnow()
        query = (
            select(AdapterRow)
            .where(AdapterRow.next_attempt_at <= now)
            .where(or_(AdapterRow.claimed_by.is_(None), AdapterRow.lease_expires_at < now))
            .order_by(AdapterRow.next_attempt_at)
            .limit(limit + len(skip))
            .with_for_update(skip_locked=True)
        )
        claimed: list[Work] = []
        with self.sessions.begin() as session:
            for row in session.scalars(query):
                if row.name in skip or len(claimed) >= limit:
                    continue
                row.claimed_by = self.replica_id
                row.lease_expires_at = now + self.lease
                operation = session.get(OperationRow, row.last_operation_id) if row.last_operation_id else None
                claimed.append(Work(row, operation))
        return claimed

    def make_due(self, names: set[str]) -> None:
        """Look at these adapters now (their target says something changed), rather than at their next resync."""
        now = utcnow()
        with self.sessions.begin() as session:
            session.execute(
                update(AdapterRow)
                .where(AdapterRow.name.in_(sorted(names)), AdapterRow.next_attempt_at > now)
                .values(next_attempt_at=now)
            )

    def renew(self, names: list[str]) -> None:
        if not names:
            return
        with self.sessions.begin() as session:
            session.execute(
                update(AdapterRow)
                .where(AdapterRow.name.in_(names), AdapterRow.claimed_by == self.replica_id)
                .values(lease_expires_at=utcnow() + self.lease)
            )

    def start_operation(self, row: AdapterRow, kind: str, attempt: int) -> OperationRow | None:
        with self.sessions.begin() as session:
            current = session.get(AdapterRow, row.name)
            if current is None or current.claimed_by != self.replica_id:
                return None
            # One that still says "running" was cut short (the replica running it died, or stopped mid-way): the
            # operations view must not show it running for ever next to the one that replaces it.
            session.execute(
                update(OperationRow)
                .where(OperationRow.adapter == row.name, OperationRow.outcome == "running")
                .values(
                    outcome="failed", message="interrupted: the service stopped before it ended", finished_at=utcnow()
                )
            )
            operation = OperationRow(
                adapter=row.name,
                kind=kind,
                generation=row.generation,
                attempt=attempt,
                replica=self.replica_id,
                started_at=utcnow(),
                outcome="running",
                message="",
                log="",
            )
            session.add(operation)
            session.flush()
            current.last_operation_id = operation.id
            # Each adapter keeps its newest operations only: an adapter that fails and retries all day must not
            # grow the table (or the operations view) without bound.
            older = (
                select(OperationRow.id)
                .where(OperationRow.adapter == row.name)
                .order_by(OperationRow.id.desc())
                .offset(self.keep_operations)
            )
            session.execute(delete(OperationRow).where(OperationRow.id.in_(older.scalar_subquery())))
            return operation

    def append_log(self, operation_id: int, text: str, changes: dict[str, int] | None = None) -> None:
        with self.sessions.begin() as session:
            operation = session.get(OperationRow, operation_id)
            if operation is not None:
                operation.log = (operation.log + text)[-256 * 1024 :]
                if changes is not None:
                    operation.resource_changes = changes

    def finish_operation(self, operation_id: int, outcome: str, message: str) -> None:
        """Close an operation that is not the adapter's last one (a refresh before an apply)."""
        with self.sessions.begin() as session:
            operation = session.get(OperationRow, operation_id)
            if operation is not None and operation.outcome == "running":
                operation.outcome, operation.message, operation.finished_at = outcome, message, utcnow()

    def finish(self, row: AdapterRow, result: Result) -> bool:
        """Record the outcome and release the claim; False when the claim was lost meanwhile."""
        with self.sessions.begin() as session:
            current = session.get(AdapterRow, row.name, with_for_update=True)
            if current is None or current.claimed_by != self.replica_id:
                return False
            changed = current.generation != row.generation or current.deletion_requested != row.deletion_requested
            current.phase = Phase.DELETING if current.deletion_requested else result.phase
            current.conditions = result.conditions
            current.replicas_ready = result.ready
            current.replicas_desired = result.desired
            current.attempts = result.attempts
            current.next_attempt_at = utcnow() if changed else result.next_attempt_at
            if result.observed_generation is not None:
                current.observed_generation = result.observed_generation
            if result.refreshed:
                current.refresh_requested = False
            current.claimed_by = None
            current.lease_expires_at = None
            if result.operation_outcome and current.last_operation_id is not None:
                operation = session.get(OperationRow, current.last_operation_id)
                if operation is not None and operation.outcome == "running":
                    operation.outcome = result.operation_outcome
                    operation.message = result.operation_message
                    operation.finished_at = utcnow()
            return True

    def remove(self, row: AdapterRow, operation_id: int | None) -> bool:
        with self.sessions.begin() as session:
            done = session.execute(
                delete(AdapterRow).where(AdapterRow.name == row.name, AdapterRow.claimed_by == self.replica_id)
            )
            if operation_id is not None and (operation := session.get(OperationRow, operation_id)) is not None:
                operation.outcome, operation.finished_at = "succeeded", utcnow()
            return bool(getattr(done, "rowcount", 0))

    def release_claims_of_a_previous_run(self) -> None:
        """On SQLite, forget every claim at start: no other service can share the database, so the claims found are
        those of this service's previous run, which died, and nothing should wait for their leases to run out.
        (On PostgreSQL other replicas may hold them: they expire on their own.)"""
        if self.sessions.kw["bind"].dialect.name == "sqlite":
            self._release(AdapterRow.claimed_by.is_not(None))

    def release_all(self) -> None:
        self._release(AdapterRow.claimed_by == self.replica_id)

    def _release(self, claims: ColumnElement[bool]) -> None:
        with self.sessions.begin() as session:
            session.execute(update(AdapterRow).where(claims).values(claimed_by=None, lease_expires_at=None))

    def names(self) -> set[str]:
        with self.reads() as session:
            return set(session.scalars(select(AdapterRow.name)))
