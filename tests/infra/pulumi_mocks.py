"""A recording Pulumi mock: what the component registered, with parents and dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

ISSUER = "https://oidc.example.test/tenant/issuer/"


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    urn: str = ""


@dataclass
class Recorder(pulumi.runtime.Mocks):
    resources: list[Registered] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            outputs |= {"clientId": f"client-{args.name}", "principalId": f"principal-{args.name}"}
        if args.typ.startswith("kubernetes:"):
            metadata = dict(outputs.get("metadata", {}))
            outputs["metadata"] = metadata | {"resourceVersion": "42"}
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "azure-native:containerservice:getManagedCluster":
            return {"oidcIssuerProfile": {"issuerURL": ISSUER, "enabled": True}}, []
        return {}, []

    def by_type(self, kind: str) -> list[Registered]:
        return [r for r in self.resources if r.type.endswith(":" + kind)]

    def one(self, kind: str) -> Registered:
        found = self.by_type(kind)
        assert len(found) == 1, f"expected one {kind}, got {[r.name for r in found]}"
        return found[0]


class RecordingMonitor(MockMonitor):
    """Keeps what `Mocks.new_resource` does not see: the parent and the dependencies."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(recorder)
        self.recorder = recorder

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.recorder.resources.append(
            Registered(
                type=request.type,
                name=request.name,
                inputs=json_format.MessageToDict(request.object),
                parent=request.parent,
                dependencies=list(request.dependencies),
                urn=response.urn,
            )
        )
        return response
