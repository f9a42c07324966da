"""`mcp-adapters serve`: the control plane on 127.0.0.1:8000 unless told otherwise."""

from __future__ import annotations

import gc
import logging
import os
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from mcp_adapters.errors import ConfigurationError


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000].")] = None,
) -> None:
    """Run the control plane: the API, the reconciler and the data plane."""
    from mcp_adapters.api.main import create_app
    from mcp_adapters.settings import Settings

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # httpx logs every request at INFO: each replica's readiness probe, twice a second, would fill the log.
        logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
        app = create_app(settings)
    except ValidationError as exc:
        typer.echo(f"mcp-adapters: invalid settings:\n{exc}", err=True)
        raise typer.Exit(2) from None
    except ConfigurationError as exc:
        typer.echo(f"mcp-adapters: {exc}", err=True)
        raise typer.Exit(2) from None
    if os.getpid() == 1:  # orphans come to PID 1 to be reaped, and this process does not reap them
        logging.getLogger("mcp_adapters").warning(
            "running as PID 1 without an init: processes orphaned under it (the plugins of a killed Pulumi CLI) "
            "stay as zombies; use the image's entrypoint (tini) or `docker run --init`"
        )
    auth = app.state.runtime.auth
    mode = "Entra ID" if auth.resource is not None else "development"
    typer.echo(
        f"mcp-adapters listening on http://{settings.host}:{settings.port} (API docs at /docs; auth: {mode})", err=True
    )
    if auth.warning:  # development mode is a choice, so said where the operator looks, not only in /readyz
        logging.getLogger("mcp_adapters.auth").warning(auth.warning)
    # What is alive now (the app, its schemas and mappers, the imported modules) stays for the process's life: out
    # of the collector's sight, a full collection no longer walks it, which had paused a request for 1,000 adapters
    # by several times what building the answer costs.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=30,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: only configured proxies count.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or "",
    )
