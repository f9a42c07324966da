"""Preview (`?dryRun=true`): what a create or update would run and create, with the policy findings.

Uses the same pure render and policy rules as `pulumi up` and the CrossGuard
pack, so what is reviewed here is what the platform would deploy.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from mcp_infra.spec import AdapterSpec

from mcp_adapters.errors import NotImplementedYet, Unavailable
from mcp_adapters.models import REDACTED, PlannedResource, Preview, PreviewFinding
from mcp_adapters.platform import platform_settings
from mcp_adapters.settings import Settings
from mcp_adapters.targets.base import Target, TargetError, TargetPreview, UnsupportedSpec


def _plain(value: Any) -> Any:
    # Refs, lookups and secrets print as `${...}` / `<redacted>`; everything else is JSON already.
    return json.loads(json.dumps(value, default=str))


async def preview(
    spec: AdapterSpec, change: Literal["create", "update", "none"], target: Target, settings: Settings
) -> Preview:
    try:
        from mcp_infra.render import render_adapter
        from mcp_policies import PolicyConfig, evaluate
        from mcp_policies.findings import Enforcement
        from mcp_policies.trusted import check_trusted
    except ImportError as exc:  # the render or the policies are not installed
        raise NotImplementedYet(f"preview needs the infra render and the policies ({exc.name} is missing)") from exc
    platform = platform_settings(settings)
    rendered = render_adapter(spec, platform)
    allow = settings.resolved_trusted_servers
    # Without a list (development mode) admission restricts nothing, so neither may the review: it would block
    # with the render's default list (npx, uvx) what a create then runs anyway.
    enforcement: dict[str, Enforcement] = {} if allow is not None else {"trusted-servers": "disabled"}
    findings = list(evaluate(rendered.resources, PolicyConfig.from_settings(platform, enforcement)))
    if allow is not None:
        findings += check_trusted(spec, allow)
    try:
        planned = await target.preview(spec)
    except UnsupportedSpec as exc:
        planned = TargetPreview(
            resources=[],
            findings=[
                PreviewFinding(
                    policy=f"target-{target.name}", enforcement="mandatory", resource=spec.name, message=exc.message
                )
            ],
        )
    except TargetError as exc:
        raise Unavailable(f"the {target.name} target could not preview {spec.name!r}: {exc.message}") from exc
    views = [
        PreviewFinding(policy=f.policy, enforcement=f.enforcement, resource=str(f.resource), message=f.message)
        for f in findings
    ] + planned.findings
    adapter = spec.to_json()
    hidden = spec.secret_names()
    adapter["environmentVariables"] = {
        k: (REDACTED if k in hidden else v) for k, v in spec.environment_variables.items()
    }
    return Preview(
        change=change,
        allowed=not any(f.enforcement == "mandatory" for f in views),
        target=target.name,
        adapter=adapter,
        resources=planned.resources,
        change_summary=planned.change_summary,
        rendered=[
            PlannedResource(type=r.type, name=r.name, inputs=_plain(r.plain_inputs())) for r in rendered.resources
        ],
        findings=views,
    )
