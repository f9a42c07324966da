"""Dependencies every route declares with `Annotated`: the runtime, its parts, and the caller.

All are `async def`, though none awaits: FastAPI runs a plain `def` dependency in a worker thread, a
thread hop for each one on every request, the data plane's included."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mcp_adapters.auth.identity import Identity
from mcp_adapters.auth.permissions import Permissions
from mcp_adapters.runtime import Runtime
from mcp_adapters.store import AdapterStore


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_store(runtime: RuntimeDep) -> AdapterStore:
    return runtime.store


async def get_permissions(runtime: RuntimeDep) -> Permissions:
    return runtime.permissions


async def current_identity(request: Request, runtime: RuntimeDep) -> Identity:
    return await runtime.auth.authenticate(request)


StoreDep = Annotated[AdapterStore, Depends(get_store)]
PermissionsDep = Annotated[Permissions, Depends(get_permissions)]
CurrentIdentity = Annotated[Identity, Depends(current_identity)]
