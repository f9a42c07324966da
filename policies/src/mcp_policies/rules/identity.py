"""Workload identities: exact audience, the right service account, one adapter per identity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from mcp_infra.render._azure import FEDERATED_CREDENTIAL_TYPE, IDENTITY_TYPE, TOKEN_EXCHANGE_AUDIENCE
from mcp_infra.render._workload import WORKLOAD_IDENTITY_CLIENT_ID
from mcp_infra.resources import Ref

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule, stack_rule
from mcp_policies.view import Resource, listing


@resource_rule("federated-credential-audience", f"Federated credentials accept only {TOKEN_EXCHANGE_AUDIENCE}.")
def audience(resource: Resource, _: PolicyConfig) -> Iterator[str]:
    if resource.type != FEDERATED_CREDENTIAL_TYPE or "audiences" not in resource.inputs:
        return
    if listing(resource.inputs.get("audiences")) != [TOKEN_EXCHANGE_AUDIENCE]:
        yield f"audiences is {resource.inputs.get('audiences')!r}: set it to exactly [{TOKEN_EXCHANGE_AUDIENCE!r}]"


def _identity_adapters(resources: Sequence[Resource]) -> dict[str, str | None]:
    return {str(r.inputs.get("resourceName", r.name)): r.adapter for r in resources if r.type == IDENTITY_TYPE}


@stack_rule(
    "federated-credential-subject",
    "A federated credential trusts exactly one service account, and it belongs to the identity's adapter.",
)
def subject(resources: Sequence[Resource], _: PolicyConfig) -> Iterator[tuple[Resource, str]]:
    identities = _identity_adapters(resources)
    accounts = {
        f"system:serviceaccount:{r.namespace}:{r.metadata.get('name', r.name)}": r.adapter
        for r in resources
        if r.kind == "ServiceAccount" and r.is_kubernetes
    }
    for credential in (r for r in resources if r.type == FEDERATED_CREDENTIAL_TYPE):
        identity = credential.inputs.get("resourceName")
        value = credential.inputs.get("subject")
        if not isinstance(value, str) or not isinstance(identity, str):
            continue  # not known before deployment
        if identity not in identities:
            yield credential, f"identity {identity} is not deployed with this stack: federate identities it owns"
        elif value not in accounts:
            yield credential, f"subject {value} is no service account deployed with the adapter: fix the subject"
        elif accounts[value] != identities[identity]:
            yield (
                credential,
                (
                    f"subject {value} belongs to adapter {accounts[value]}, the identity to {identities[identity]}: "
                    "federate each adapter's identity with its own service account only"
                ),
            )


@stack_rule("identity-single-adapter", "An Azure identity is used by one adapter only.")
def single_adapter(resources: Sequence[Resource], _: PolicyConfig) -> Iterator[tuple[Resource, str]]:
    users: dict[str, dict[str, Resource]] = defaultdict(dict)
    for account in (r for r in resources if r.kind == "ServiceAccount" and r.is_kubernetes):
        client = account.annotations.get(WORKLOAD_IDENTITY_CLIENT_ID)
        key = f"ref:{client.resource}" if isinstance(client, Ref) else client
        if isinstance(key, str) and account.adapter:
            users[key].setdefault(account.adapter, account)
    credentials: dict[str, dict[str, Resource]] = defaultdict(dict)
    for credential in (r for r in resources if r.type == FEDERATED_CREDENTIAL_TYPE):
        identity, value = credential.inputs.get("resourceName"), credential.inputs.get("subject")
        if isinstance(identity, str) and isinstance(value, str):
            credentials[f"ref:{identity}"].setdefault(value, credential)
    for key, by_adapter in sorted(users.items()):
        if len(by_adapter) > 1:
            for adapter, account in sorted(by_adapter.items()):
                yield (
                    account,
                    (
                        f"identity {key.removeprefix('ref:')} is shared by adapters {sorted(by_adapter)}: "
                        f"give adapter {adapter} its own identity"
                    ),
                )
    for key, by_subject in sorted(credentials.items()):
        if len(by_subject) > 1:
            for value, credential in sorted(by_subject.items()):
                yield (
                    credential,
                    (
                        f"identity {key.removeprefix('ref:')} trusts several service accounts ({sorted(by_subject)}): "
                        f"keep only {value}'s adapter on it"
                    ),
                )
