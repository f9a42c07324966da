"""Deterministic, DNS-valid and collision-free names for everything an adapter owns.

Each kind of object gets its own name family `<adapter><suffix>`. Within one
Kubernetes kind no suffix is a suffix of another, so two families can never
produce the same string, whatever the adapter names. A name that would not fit
is cut and completed with a hash of the adapter name so that it is *exactly* the
limit long; untouched names are always shorter than the limit, so a cut name
can never equal a whole one, and two cut names differ unless 65 bits of SHA-256
collide.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Final

LABEL_LIMIT: Final = 63
# StatefulSet pods carry `controller-revision-hash: <name>-<10 chars>`, a label value (63 max).
STATEFULSET_LIMIT: Final = 52
HASH_LENGTH: Final = 13

PART_OF: Final = "mcp-adapters"
APP_NAME: Final = "mcp-adapter"
MANAGED_BY: Final = "pulumi"
ADAPTER_TAG: Final = "mcp-adapters/adapter"
# The Pulumi type of the `McpAdapter` component (`component.py`); the policies name an adapter by it too.
ADAPTER_TYPE_TOKEN: Final = "mcp-adapters:index:McpAdapter"  # noqa: S105 - a type token


def short_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b32encode(digest).decode().lower()[:HASH_LENGTH]


def fit(base: str, suffix: str = "", limit: int = LABEL_LIMIT) -> str:
    """`base + suffix` when shorter than `limit`, else a hash-completed name exactly `limit` long."""
    whole = base + suffix
    if len(whole) < limit:
        return whole
    keep = limit - len(suffix) - HASH_LENGTH - 1
    if keep < 1:
        raise ValueError(f"suffix {suffix!r} leaves no room for a name within {limit} characters")
    return f"{base[:keep]}-{short_hash(base)}{suffix}"


@dataclass(frozen=True)
class AdapterNames:
    """The name of every object of one adapter."""

    adapter: str
    statefulset: str
    service: str
    headless_service: str
    service_account: str
    secret: str
    network_policy: str
    pod_disruption_budget: str
    ingress: str
    identity: str
    federated_credential: str

    @classmethod
    def of(cls, adapter: str, identity_prefix: str = "id-mcp-") -> AdapterNames:
        return cls(
            adapter=adapter,
            statefulset=fit(adapter, limit=STATEFULSET_LIMIT),
            service=fit(adapter, "-svc"),
            headless_service=fit(adapter, "-peers"),
            service_account=fit(adapter, "-sa"),
            secret=fit(adapter, "-env"),
            # DNS subdomains (253 characters), one per adapter: the adapter name itself.
            network_policy=adapter,
            pod_disruption_budget=adapter,
            ingress=adapter,
            # Azure identity names allow 128 characters: prefix (<=64) + adapter (<=63) always fits.
            identity=f"{identity_prefix}{adapter}",
            federated_credential=f"fic-{adapter}",
        )


def selector_labels(adapter: str) -> dict[str, str]:
    """Labels that select an adapter's pods. Immutable: never add anything that can change."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": adapter}


def common_labels(adapter: str, version: str) -> dict[str, str]:
    labels = {
        **selector_labels(adapter),
        "app.kubernetes.io/component": "proxy",
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    label_version = _label_value(version)
    if label_version:
        labels["app.kubernetes.io/version"] = label_version
    return labels


def _label_value(text: str) -> str:
    # Image tags allow 128 characters and may end in '.', '-' or '_'; label values may not.
    return text[:LABEL_LIMIT].rstrip("._-")
