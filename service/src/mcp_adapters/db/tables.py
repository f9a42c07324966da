"""The tables. Spec (desired state) and status (observed state) share a row; operations keep history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Dialect, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class AdapterRow(Base):
    __tablename__ = "adapters"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    # The camelCase spec with secret values encrypted; `secret_keys` names them.
    spec: Mapped[dict[str, Any]]
    secret_keys: Mapped[list[Any]]
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    generation: Mapped[int] = mapped_column(Integer, default=1)
    deletion_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # `POST /adapters/{name}/refresh`: read back what is deployed before the next apply.
    refresh_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    phase: Mapped[str] = mapped_column(String(16), default="Pending")
    observed_generation: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[list[Any]]
    replicas_desired: Mapped[int] = mapped_column(Integer, default=0)
    replicas_ready: Mapped[int] = mapped_column(Integer, default=0)
    last_operation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    # Work queue: due when `next_attempt_at` has passed; claimed by one service replica at a time.
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class OperationRow(Base):
    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    adapter: Mapped[str] = mapped_column(String(63), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    generation: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    replica: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    message: Mapped[str] = mapped_column(Text, default="")
    # What the target printed while it worked (a Pulumi update streams here).
    log: Mapped[str] = mapped_column(Text, default="")
    resource_changes: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)


def utcnow() -> datetime:
    return datetime.now(UTC)
