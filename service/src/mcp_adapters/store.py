"""Desired state as the API records it: create, read, replace, request deletion.

Every write makes the adapter due for the reconciler (`next_attempt_at = now`);
the reconciler's own queries live in `reconciler/queue.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcp_infra.spec import AdapterSpec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, sessionmaker

from mcp_adapters.db.engine import readers
from mcp_adapters.db.tables import AdapterRow, OperationRow, utcnow
from mcp_adapters.errors import Conflict, NotFound
from mcp_adapters.models import REDACTED, Phase
from mcp_adapters.vault import Vault

# Views of operations never show their log (up to 256 KiB each; `/logs?source=operation` reads it): a list of
# 1,000 adapters loaded each last operation's whole log, and that was most of its time.
_WITHOUT_LOG = defer(OperationRow.log, raiseload=True)


class AdapterStore:
    def __init__(self, sessions: sessionmaker[Session], vault: Vault) -> None:
        self.sessions = sessions
        self.reads = readers(sessions)
        self.vault = vault

    def get(self, name: str) -> AdapterRow | None:
        with self.reads() as session:
            return session.get(AdapterRow, name)

    def all(self) -> Sequence[AdapterRow]:
        with self.reads() as session:
            return session.scalars(select(AdapterRow).order_by(AdapterRow.name)).all()

    def page(self, after: str | None, limit: int, phase: str | None, created_by: str | None) -> Sequence[AdapterRow]:
        """Up to `limit` adapters in name order after `after`, with the given phase and creator when named."""
        query = select(AdapterRow).order_by(AdapterRow.name).limit(limit)
        if after is not None:
            query = query.where(AdapterRow.name > after)
        if phase is not None:
            query = query.where(AdapterRow.phase == phase)
        if created_by is not None:
            query = query.where(AdapterRow.created_by == created_by)
        with self.reads() as session:
            return session.scalars(query).all()

    def operation(self, op_id: int | None) -> OperationRow | None:
        if op_id is None:
            return None
        with self.reads() as session:
            return session.get(OperationRow, op_id)

    def operations_by_id(self, ids: Sequence[int | None]) -> dict[int, OperationRow]:
        """The operations these ids name, in one query (a list of adapters shows each one's last)."""
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        with self.reads() as session:
            query = select(OperationRow).options(_WITHOUT_LOG).where(OperationRow.id.in_(wanted))
            return {op.id: op for op in session.scalars(query)}

    def operations(self, row: AdapterRow, limit: int) -> Sequence[OperationRow]:
        """This adapter's operations, newest first (not those of an earlier adapter of the same name)."""
        query = (
            select(OperationRow)
            .options(_WITHOUT_LOG)
            .where(OperationRow.adapter == row.name, OperationRow.started_at >= row.created_at)
            .order_by(OperationRow.id.desc())
            .limit(limit)
        )
        with self.reads() as session:
            return session.scalars(query).all()

    def create(self, spec: AdapterSpec, created_by: str) -> AdapterRow:
        now = utcnow()
        sealed, names = self._seal(spec)
        row = AdapterRow(
            name=spec.name,
            spec=sealed,
            secret_keys=names,
            created_by=created_by,
            created_at=now,
            updated_at=now,
            generation=1,
            deletion_requested=False,
            refresh_requested=False,
            phase="Pending",
            observed_generation=0,
            conditions=[],
            replicas_desired=spec.replica_count,
            replicas_ready=0,
            next_attempt_at=now,
            attempts=0,
        )
        try:
            with self.sessions.begin() as session:
                if (existing := session.get(AdapterRow, spec.name)) is not None:
                    raise _exists(existing)
                session.add(row)
        except IntegrityError:
            # Another request created it between our check and our insert.
            raise Conflict(
                f"adapter {spec.name!r} already exists: use PUT /adapters/{spec.name} to change it"
            ) from None
        return row

    def replace(self, spec: AdapterSpec) -> tuple[AdapterRow, bool]:
        """Store a new spec; the generation moves only when the spec really changed."""
        with self.sessions.begin() as session:
            row = session.get(AdapterRow, spec.name, with_for_update=True)
            if row is None:
                raise NotFound(f"adapter {spec.name!r} does not exist")
            if row.deletion_requested:
                raise Conflict(f"adapter {spec.name!r} is being deleted")
            spec = self.merge_redacted(spec, row)
            if self.opened_spec(row) == spec:
                return row, False
            row.spec, row.secret_keys = self._seal(spec)
            row.generation += 1
            row.updated_at = row.next_attempt_at = utcnow()
            row.attempts = 0
            row.replicas_desired = spec.replica_count
            return row, True

    def request_deletion(self, name: str) -> AdapterRow:
        with self.sessions.begin() as session:
            row = session.get(AdapterRow, name, with_for_update=True)
            if row is None:
                raise NotFound(f"adapter {name!r} does not exist")
            if not row.deletion_requested:
                row.deletion_requested = True
                row.phase = Phase.DELETING
                row.updated_at = row.next_attempt_at = utcnow()
                row.attempts = 0
            return row

    def request_refresh(self, name: str) -> AdapterRow:
        """Mark the adapter for a refresh (read back what is deployed) and make it due now."""
        with self.sessions.begin() as session:
            row = session.get(AdapterRow, name, with_for_update=True)
            if row is None:
                raise NotFound(f"adapter {name!r} does not exist")
            if row.deletion_requested:
                raise Conflict(f"adapter {name!r} is being deleted")
            row.refresh_requested = True
            row.next_attempt_at = utcnow()
            return row

    def opened_spec(self, row: AdapterRow) -> AdapterSpec:
        """The spec with secrets in the clear: only for the target, never for a response."""
        data = dict(row.spec)
        data["environmentVariables"] = self.vault.open(dict(data.get("environmentVariables", {})), row.secret_keys)
        return AdapterSpec.model_validate(data)

    def merge_redacted(self, spec: AdapterSpec, row: AdapterRow | None) -> AdapterSpec:
        """A PUT that sends back `<redacted>` for a stored secret keeps the stored value,
        so what `GET` returns can be applied again unchanged."""
        env = dict(spec.environment_variables)
        kept = [k for k, v in env.items() if v == REDACTED]
        if not kept or row is None:
            return spec
        stored = self.opened_spec(row).environment_variables
        for key in kept:
            if key in stored and key in row.secret_keys:
                env[key] = stored[key]
        return spec.model_copy(update={"environment_variables": env})

    def reseal(self) -> list[str]:
        """Seal what the current `secret_names()` calls secret in rows stored before it did; names of those rows.

        Each row is re-sealed in its own transaction, `spec` and `secret_keys` together, and only when they disagree
        with the spec: a start that stops half-way leaves whole rows, and the next start does the rest. A re-sealed
        adapter is made due, so a target that deployed the value in plain text redeploys it from a Secret.
        """
        resealed = []
        for name in [row.name for row in self.all() if self._stale(row)]:
            with self.sessions.begin() as session:
                row = session.get(AdapterRow, name, with_for_update=True)
                if row is None or not self._stale(row):  # deleted, or another replica did it
                    continue
                row.spec, row.secret_keys = self._seal(self.opened_spec(row))
                row.next_attempt_at = utcnow()
                resealed.append(name)
        return resealed

    def _stale(self, row: AdapterRow) -> bool:
        return sorted(row.secret_keys) != self.opened_spec(row).secret_names()

    def _seal(self, spec: AdapterSpec) -> tuple[dict[str, object], list[str]]:
        data = spec.to_json()
        names = spec.secret_names()
        data["environmentVariables"] = self.vault.seal(dict(spec.environment_variables), names)
        return data, names


def _exists(row: AdapterRow) -> Conflict:
    if row.deletion_requested:
        return Conflict(f"adapter {row.name!r} is still being deleted: try again once it is gone")
    return Conflict(f"adapter {row.name!r} already exists: use PUT /adapters/{row.name} to change it")
