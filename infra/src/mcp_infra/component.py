"""`McpAdapter`: the Pulumi component that deploys one adapter's render.

It adds nothing to the render: every child is a rendered resource, created
with the same name and inputs, parented to the component, in render order and
with the render's dependencies.
"""

from __future__ import annotations

import pulumi

from mcp_infra.deploy import Deployer
from mcp_infra.names import ADAPTER_TYPE_TOKEN
from mcp_infra.render import render_adapter
from mcp_infra.resources import RenderedAdapter
from mcp_infra.settings import PlatformSettings
from mcp_infra.spec import AdapterSpec


class McpAdapter(pulumi.ComponentResource):
    """One adapter: its proxy StatefulSet, Services, NetworkPolicy, Ingress and (optionally) Azure identity.

    Constructible from any Pulumi program body, including an Automation API inline program.
    """

    endpoint: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    identity_client_id: pulumi.Output[str | None]
    identity_principal_id: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        spec: AdapterSpec,
        settings: PlatformSettings | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(ADAPTER_TYPE_TOKEN, resource_name, {"adapter": spec.name}, opts)
        self.rendered: RenderedAdapter = render_adapter(spec, settings)
        deployer = Deployer(parent=self)
        deployer.create_all(self.rendered.resources)
        self.children: dict[str, pulumi.CustomResource] = deployer.created

        identity = self.children.get(f"UserAssignedIdentity/{self.rendered.identity_name}")
        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.endpoint = pulumi.Output.from_input(self.rendered.endpoint_url)
        self.service_account_name = pulumi.Output.from_input(self.rendered.service_account_name)
        self.identity_client_id = identity.client_id if identity is not None else none  # type: ignore[attr-defined]
        self.identity_principal_id = (
            identity.principal_id if identity is not None else none  # type: ignore[attr-defined]
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "serviceAccountName": self.service_account_name,
                "identityClientId": self.identity_client_id,
                "identityPrincipalId": self.identity_principal_id,
            }
        )
