"""Typed resource specs: what the render produces and everything downstream consumes.

A resource is a Pulumi type token, a deterministic name (the Pulumi resource
name; for Kubernetes also `metadata.name`) and its inputs as plain data. Values
only known at deploy time are `Ref`s (an output of another rendered resource)
or `Lookup`s (a Pulumi invoke); secret values are `SecretValue`s, which never
print their content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

REDACTED: Final = "<redacted>"


@dataclass(frozen=True)
class Ref:
    """An output of another resource of the same render, e.g. an identity's `clientId`."""

    resource: str  # the other resource's key, `Kind/name`
    output: str

    def __str__(self) -> str:
        return f"${{{self.resource}.{self.output}}}"


@dataclass(frozen=True)
class Lookup:
    """A value read at deploy time by a Pulumi invoke (a function token plus arguments)."""

    function: str
    args: tuple[tuple[str, str], ...]
    output: str

    def __str__(self) -> str:
        arguments = ", ".join(f"{k}={v}" for k, v in self.args)
        return f"${{{self.function}({arguments}).{self.output}}}"


@dataclass(frozen=True)
class SecretValue:
    """A secret: kept out of `str`/`repr` so it cannot leak into logs or rendered output."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return REDACTED


def k8s_type(api_version: str, kind: str) -> str:
    """The pulumi-kubernetes type token, e.g. `kubernetes:apps/v1:StatefulSet`."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


@dataclass(frozen=True)
class RenderedResource:
    type: str
    name: str
    inputs: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()  # keys of resources that must exist first

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith("kubernetes:")

    @property
    def key(self) -> str:
        """`Kind/name`: unique within a stack, what `Ref`s and `depends_on` point at."""
        return f"{self.kind}/{self.name}"

    @property
    def kind(self) -> str:
        """`StatefulSet`, `UserAssignedIdentity`, ...: the last part of the type token."""
        return self.type.rsplit(":", 1)[-1]

    @property
    def api_version(self) -> str | None:
        return str(self.inputs["apiVersion"]) if self.is_kubernetes else None

    def plain_inputs(self, convert: Callable[[Any], Any] = str) -> Any:
        """The inputs with every `Ref`, `Lookup` and `SecretValue` passed through `convert`."""
        return map_values(self.inputs, convert)


def map_values(value: Any, convert: Callable[[Any], Any]) -> Any:
    if isinstance(value, Ref | Lookup | SecretValue):
        return convert(value)
    if isinstance(value, Mapping):
        return {k: map_values(v, convert) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_values(v, convert) for v in value]
    return value


@dataclass(frozen=True)
class RenderedAdapter:
    """Everything one adapter deploys, in creation order."""

    adapter: str
    namespace: str
    resources: tuple[RenderedResource, ...]
    endpoint_url: str
    service_account_name: str
    identity_name: str | None

    def __iter__(self) -> Iterator[RenderedResource]:
        return iter(self.resources)

    def get(self, kind: str, name: str | None = None) -> RenderedResource:
        for resource in self.resources:
            if resource.kind == kind and (name is None or resource.name == name):
                return resource
        raise KeyError(f"{self.adapter} renders no {kind}{'' if name is None else ' ' + name}")

    def find(self, kind: str) -> list[RenderedResource]:
        return [r for r in self.resources if r.kind == kind]
