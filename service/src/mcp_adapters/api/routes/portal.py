"""The portal at `/portal/` (same origin and auth as the API), its sign-in settings and templates; `/` leads there."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from mcp_adapters.api.deps import CurrentIdentity, RuntimeDep
from mcp_adapters.portal.templates import Template, templates

router = APIRouter(tags=["portal"])


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PortalUser(_Camel):
    id: str
    roles: list[str]


class PortalSignIn(_Camel):
    authority: str = Field(description="The OpenID issuer; its /.well-known/openid-configuration names the endpoints.")
    client_id: str | None = Field(description="The portal's public client (MCP_ADAPTERS_PORTAL_CLIENT_ID).")
    scopes: list[str]
    redirect_uri: str


class PortalConfig(_Camel):
    auth: Literal["development", "entra"]
    user: PortalUser | None = Field(description="Development mode: who a caller without X-Dev-* headers is.")
    admin_role: str
    workload_identity_roles: list[str]
    entra: PortalSignIn | None


@router.get("/", include_in_schema=False)
async def root(accept: Annotated[str, Header()] = "") -> Response:
    if "text/html" in accept:
        return RedirectResponse("/portal/", status_code=307)
    return JSONResponse({"portal": "/portal/", "docs": "/docs", "openapi": "/openapi.json"})


@router.get(
    "/portal/config", response_model=PortalConfig, response_model_by_alias=True, summary="The portal's settings"
)
async def portal_config(request: Request, runtime: RuntimeDep) -> PortalConfig:
    settings, resource = runtime.settings, runtime.auth.resource
    user: PortalUser | None = None
    sign_in: PortalSignIn | None = None
    if resource is None:  # development mode: no authorization server
        user = PortalUser(id=settings.dev_default_user, roles=list(settings.dev_default_roles))
    else:
        sign_in = PortalSignIn(
            authority=resource.authorization_servers[0],
            client_id=settings.portal_client_id,
            scopes=resource.scopes,
            redirect_uri=resource.base_url(request) + "/portal/",
        )
    return PortalConfig(
        auth="development" if sign_in is None else "entra",
        user=user,
        admin_role=settings.admin_role,
        workload_identity_roles=list(settings.workload_identity_roles),
        entra=sign_in,
    )


@router.get("/portal/templates", response_model=list[Template], summary="Adapter templates for the portal")
async def portal_templates(_: CurrentIdentity, runtime: RuntimeDep) -> list[Template]:
    return templates(runtime.settings.portal_templates_dir)
