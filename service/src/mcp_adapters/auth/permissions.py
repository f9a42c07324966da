"""Who may do what with an adapter (microsoft/mcp-gateway's model).

`mcp.admin` may do everything; the creator may read, change and call its
adapter; holders of a role in `requiredRoles` may read and call it. Everybody
else is told it does not exist (404), so names do not leak.
"""

from __future__ import annotations

from mcp_infra.spec import AdapterSpec

from mcp_adapters.auth.identity import Identity
from mcp_adapters.db.tables import AdapterRow
from mcp_adapters.errors import Forbidden, NotFound


class Permissions:
    def __init__(self, admin_role: str, workload_identity_roles: list[str]) -> None:
        self.admin_role = admin_role
        self.workload_identity_roles = frozenset(workload_identity_roles)

    def is_admin(self, who: Identity) -> bool:
        return self.admin_role in who.roles

    def can_read(self, who: Identity, row: AdapterRow) -> bool:
        return self.can_change(who, row) or who.has_any(row.spec.get("requiredRoles", []))

    def can_change(self, who: Identity, row: AdapterRow) -> bool:
        return self.is_admin(who) or row.created_by == who.user_id

    def can_call(self, who: Identity, row: AdapterRow) -> bool:
        return self.can_read(who, row)

    def require_read(self, who: Identity, row: AdapterRow | None, name: str) -> AdapterRow:
        if row is None or not self.can_read(who, row):
            raise NotFound(f"adapter {name!r} does not exist")
        return row

    def require_change(self, who: Identity, row: AdapterRow | None, name: str) -> AdapterRow:
        row = self.require_read(who, row, name)
        if not self.can_change(who, row):
            raise Forbidden(f"only the creator of {name!r} or an {self.admin_role} may change it")
        return row

    def require_call(self, who: Identity, row: AdapterRow | None, name: str) -> AdapterRow:
        if row is None or not self.can_call(who, row):
            raise NotFound(f"adapter {name!r} does not exist")
        return row

    def require_workload_identity(self, who: Identity, spec: AdapterSpec) -> None:
        if spec.use_workload_identity and not who.has_any(self.workload_identity_roles):
            roles = ", ".join(sorted(self.workload_identity_roles))
            raise Forbidden(
                f"useWorkloadIdentity gives the adapter an Azure identity; only callers with a role in [{roles}] "
                "may set it. Ask a platform admin, or set useWorkloadIdentity to false"
            )
