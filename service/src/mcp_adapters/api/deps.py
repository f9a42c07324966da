"""Dependencies every route declares with `Annotated`: the runtime, its parts, and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mcp_adapters.auth.identity import Identity
from mcp_adapters.auth.permissions import Permissions
from mcp_adapters.runtime import Runtime
from mcp_adapters.settings import Settings
from mcp_adapters.store import AdapterStore


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_store(runtime: RuntimeDep) -> AdapterStore:
    return runtime.store


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def get_permissions(runtime: RuntimeDep) -> Permissions:
    return runtime.permissions


async def current_identity(request: Request, runtime: RuntimeDep) -> Identity:
    return await runtime.auth.authenticate(request)


StoreDep = Annotated[AdapterStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PermissionsDep = Annotated[Permissions, Depends(get_permissions)]
CurrentIdentity = Annotated[Identity, Depends(current_identity)]
