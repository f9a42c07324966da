"""Every setting of the bridge, read from the environment in one place.

The adapter contract fixes a few unprefixed names (`MCP_COMMAND`, `MCP_ARGS`,
`MCP_CWD`, `MCP_PROXY_URL`, `MCP_PROXY_SCOPE`, `PORT`, `HOST`); everything else
is `MCP_BRIDGE_*` + the setting's name in upper case. Each setting is read from
that one name, spelled exactly so (admission compares names the same way), and
no spelling of any of them reaches the child process.
"""

from __future__ import annotations

import re
import shlex
import socket
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from mcp_bridge.errors import SettingsError

PREFIX = "MCP_BRIDGE_"
# The settings the adapter contract names without the prefix, and those names.
_CONTRACT_FIELDS = {
    "command": "MCP_COMMAND",
    "args": "MCP_ARGS",
    "cwd": "MCP_CWD",
    "proxy_url": "MCP_PROXY_URL",
    "proxy_scope": "MCP_PROXY_SCOPE",
    "host": "HOST",
    "port": "PORT",
}
CONTRACT_VARIABLES = frozenset(_CONTRACT_FIELDS.values())
# What a server gets from the bridge's environment besides the adapter's own variables, when the
# platform names those (MCP_BRIDGE_SERVER_ENV): where programs and certificates are, the locale,
# workload identity, and the local target's owner mark.
BASELINE = frozenset(
    {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS"}
    | {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"}
    | {"AZURE_AUTHORITY_HOST", "MCP_ADAPTERS_OWNER"}
)
BASELINE_PREFIXES = ("LC_",)


def variable_name(field: str) -> str:
    """The one environment variable a setting is read from."""
    return _CONTRACT_FIELDS.get(field, PREFIX + field.upper())


class _ExactEnvironment(EnvSettingsSource):
    """Each setting from exactly its documented name: not another case, not the bare field name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = variable_name(field_name)
        return self.env_vars.get(name), name if field_name in _CONTRACT_FIELDS else field_name, False


def _default_replica_id() -> str:
    # A StatefulSet pod's hostname is its name; dots would break the session-id format.
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "replica"


class BridgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, case_sensitive=True, extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _ExactEnvironment(settings_cls)

    command: str | None = Field(default=None, validation_alias=AliasChoices("MCP_COMMAND", "command"))
    args: str = Field(default="", validation_alias=AliasChoices("MCP_ARGS", "args"))
    cwd: str | None = Field(default=None, validation_alias=AliasChoices("MCP_CWD", "cwd"))
    proxy_url: str | None = Field(default=None, validation_alias=AliasChoices("MCP_PROXY_URL", "proxy_url"))
    proxy_scope: str | None = Field(default=None, validation_alias=AliasChoices("MCP_PROXY_SCOPE", "proxy_scope"))
    host: str = Field(default="0.0.0.0", validation_alias=AliasChoices("HOST", "host"))
    port: int = Field(default=8000, ge=0, le=65535, validation_alias=AliasChoices("PORT", "port"))

    replica_id: str = Field(default_factory=_default_replica_id, pattern=r"^[A-Za-z0-9-]{1,128}$")
    # Where the other replicas are, for sessions owned elsewhere: an explicit list
    # (`id=url,id=url`) or a template such as `http://{replica}.svc-headless.ns.svc:8000`.
    peers: str = ""
    peer_url_template: str | None = None

    session_mode: Literal["process", "pool"] = "process"
    max_sessions: int = Field(default=100, ge=1)
    session_idle_timeout: float = Field(default=1800.0, gt=0)
    warm_pool: int = Field(default=0, ge=0, le=64)
    stateless_pool: int = Field(default=2, ge=1, le=64)

    request_timeout: float = Field(default=300.0, gt=0)
    start_timeout: float = Field(default=60.0, gt=0)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_message_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    drain_grace: float = Field(default=25.0, ge=0)
    restart_backoff_initial: float = Field(default=0.5, gt=0)
    restart_backoff_max: float = Field(default=30.0, gt=0)

    # DNS-rebinding protection: requests whose Host (or Origin, when present) is
    # not listed are refused. Loopback names are always allowed; `*` allows all.
    allowed_hosts: str = ""
    allowed_origins: str = ""

    # Forward mode (MCP_PROXY_URL). The upstream is checked once at startup (egress.py):
    # loopback, link-local, metadata and cluster-API targets need `upstream_allow_local`,
    # private ranges need `upstream_allow_private`.
    upstream_allow_local: bool = False
    upstream_allow_private: bool = False
    upstream_connect_timeout: float = Field(default=10.0, gt=0)
    # Workload identity (MCP_PROXY_SCOPE): refresh this long before expiry; keep retrying the
    # first token this long (a new federated credential takes minutes to propagate).
    token_refresh_margin: float = Field(default=300.0, ge=0)
    token_start_deadline: float = Field(default=300.0, gt=0)
    token_retry_initial: float = Field(default=1.0, gt=0)
    token_retry_max: float = Field(default=30.0, gt=0)

    # The adapter's own variable names (`NAME,NAME`), set by the platform: the server then gets only
    # these plus BASELINE. Unset, it gets the bridge's whole environment minus the bridge's settings.
    server_env: str | None = None

    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("command")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _exactly_one_mode(self) -> BridgeSettings:
        if bool(self.command) == bool(self.proxy_url):
            raise ValueError(
                "set exactly one of MCP_COMMAND (bridge a stdio server) or MCP_PROXY_URL (forward to a remote server)"
            )
        if self.args and not self.command:
            raise ValueError("MCP_ARGS is set without MCP_COMMAND")
        try:
            shlex.split(self.args)
        except ValueError as exc:
            raise ValueError(f"MCP_ARGS cannot be split like a shell would: {exc}") from exc
        return self

    @property
    def mode(self) -> Literal["bridge", "forward"]:
        return "bridge" if self.command else "forward"

    @property
    def argv(self) -> list[str]:
        """The child's command line: never run through a shell."""
        assert self.command is not None
        return [self.command, *shlex.split(self.args)]

    def peer_urls(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in self.peers.split(","))):
            replica, sep, url = item.partition("=")
            if not sep or not replica or not url:
                raise SettingsError(f"MCP_BRIDGE_PEERS entry {item!r} must look like replica-id=http://host:port")
            found[replica.strip()] = url.strip().rstrip("/")
        return found

    def peer_url(self, replica: str) -> str | None:
        if url := self.peer_urls().get(replica):
            return url
        if self.peer_url_template and re.fullmatch(r"[A-Za-z0-9-]{1,128}", replica):
            return self.peer_url_template.replace("{replica}", replica).rstrip("/")
        return None

    def allowed_host_list(self) -> list[str]:
        return [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]

    def allowed_origin_list(self) -> list[str]:
        return [o.strip().lower().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]


def load_settings() -> BridgeSettings:
    """Read the environment, turning validation errors into one readable message."""
    try:
        return BridgeSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid bridge configuration: {problems}") from None


def is_bridge_setting(name: str) -> bool:
    """A name the bridge reads, in any spelling: never the server's business."""
    upper = name.upper()
    return upper in CONTRACT_VARIABLES or upper.startswith(PREFIX)


def child_environment(environ: Mapping[str, str], server_env: str | None = None) -> dict[str, str]:
    """The child's environment: the baseline plus the adapter's named variables when `server_env` is
    given, everything the bridge got otherwise; never the bridge's own settings."""
    named = None if server_env is None else {n.strip() for n in server_env.split(",")}
    return {
        k: v
        for k, v in environ.items()
        if not is_bridge_setting(k)
        and (named is None or k in named or k in BASELINE or k.startswith(BASELINE_PREFIXES))
    }
