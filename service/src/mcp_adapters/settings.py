"""Every setting of the control plane, read from the environment in one place.

All names are `MCP_ADAPTERS_*` except `DATABASE_URL`, which follows the
convention every PostgreSQL host and tool already uses.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import sys
import uuid
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from mcp_infra.spec import MAX_NAME_LENGTH
from mcp_infra.trusted_servers import TrustedServers
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mcp_adapters.errors import ConfigurationError

PREFIX = "MCP_ADAPTERS_"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# After SIGINT at its timeout, a Pulumi CLI gets this long to save its state before it is killed.
PULUMI_INTERRUPT_GRACE_SECONDS = 60.0
# Pulumi refuses stack names longer than this (`tokens.ParseStackName`, DIY backends and Pulumi Cloud alike).
# A stack is `<prefix><adapter>`: the prefix gets what the longest adapter name leaves.
PULUMI_STACK_NAME_LIMIT = 100
PULUMI_STACK_PREFIX_LIMIT = PULUMI_STACK_NAME_LIMIT - MAX_NAME_LENGTH


def is_loopback(host: str) -> bool:
    if host.strip("[]") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _default_replica_id() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


def _default_bridge() -> Path:
    return Path(sys.executable).parent / "mcp-bridge"


def _split(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]
_LIST_FIELDS = (
    "dev_default_roles",
    "entra_audiences",
    "entra_issuers",
    "entra_scopes",
    "workload_identity_roles",
    "allowed_hosts",
    "trusted_proxies",
    "local_pass_env",
    "pulumi_policy_packs",
)


class Settings(BaseSettings):
    """The control plane's configuration. Defaults run it for real on one machine."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", populate_by_name=True)

    # Where it listens (`mcp-adapters serve` overrides these from its options).
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    state_dir: Path = Path(".mcp-adapters")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", f"{PREFIX}DATABASE_URL", "database_url")
    )
    target: Literal["local", "kubernetes"] = "local"
    log_level: str = "INFO"

    # Identity. `auto`: Entra ID when any ENTRA_* setting is given; else development headers on loopback.
    auth_mode: Literal["auto", "development", "entra"] = "auto"
    dev_mode_force: bool = False
    dev_default_user: str = "dev"
    dev_default_roles: CommaList = Field(default_factory=lambda: ["mcp.admin"])
    entra_tenant_id: str | None = None
    entra_audiences: CommaList = Field(default_factory=list)
    entra_issuers: CommaList = Field(default_factory=list)
    entra_jwks_url: str | None = None
    # What MCP clients ask the authorization server for (RFC 9728 `scopes_supported`); `<audience>/.default` if unset.
    entra_scopes: CommaList = Field(default_factory=list)
    # The origin clients reach the service at (behind an ingress or proxy); the request's own otherwise.
    public_url: str | None = None
    # The portal signs in as this public client (an Entra app registration with a SPA redirect URI <origin>/portal/).
    portal_client_id: str | None = None
    portal_templates_dir: Path | None = None
    jwt_leeway_seconds: float = Field(default=60.0, ge=0, le=600)
    jwks_cache_seconds: int = Field(default=3600, ge=1)
    # An unknown key id triggers a JWKS refetch (key rotation) at most this often, so forged kids cannot flood it.
    jwks_refresh_cooldown_seconds: float = Field(default=30.0, ge=0)
    admin_role: str = "mcp.admin"
    workload_identity_roles: CommaList = Field(default_factory=lambda: ["mcp.admin"])
    allowed_hosts: CommaList = Field(default_factory=list)
    # Addresses (or CIDRs) of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed. None by
    # default: a caller's own forwarding headers never change who the access log and the adapters see.
    trusted_proxies: CommaList = Field(default_factory=list)

    # Admission.
    trusted_servers: TrustedServers | None = None
    trusted_servers_file: Path | None = None
    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(default=10, ge=1, le=100)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    platform_settings_file: Path | None = None

    # Secrets at rest (a Fernet key); generated into the state dir when unset.
    secret_key: SecretStr | None = None

    # Reconciler.
    replica_id: str = Field(default_factory=_default_replica_id)
    reconcile_concurrency: int = Field(default=8, ge=1, le=256)
    resync_seconds: float = Field(default=10.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0)
    lease_seconds: float = Field(default=30.0, ge=2)
    retry_initial_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=60.0, gt=0)
    # Operations kept per adapter (the newest); older ones are deleted as new ones start.
    operation_history: int = Field(default=50, ge=1)

    # Local target.
    bridge_command: Path = Field(default_factory=_default_bridge)
    local_ready_timeout: float = Field(default=120.0, gt=0)
    # Replicas starting at once. A start is CPU-bound: one per core was measured to be the knee between how soon a
    # burst of adapters is Ready and how much the calls to running ones slow meanwhile (docs/service.md).
    local_start_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)
    local_start_hold_seconds: float = Field(default=10.0, gt=0)
    local_restart_initial_seconds: float = Field(default=0.5, gt=0)
    local_restart_max_seconds: float = Field(default=30.0, gt=0)
    local_stop_grace_seconds: float = Field(default=10.0, ge=0)
    # `auto`: bubblewrap when it works here; without it, only development mode runs adapters unsandboxed.
    local_sandbox: Literal["auto", "bwrap", "none"] = "auto"
    local_pass_env: CommaList = Field(
        default_factory=lambda: [
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TZ",
            "TMPDIR",
            "SSL_CERT_FILE",
            "NODE_EXTRA_CA_CERTS",
        ]
    )
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)

    # Kubernetes target: one Pulumi Automation API stack per adapter (docs/service.md, "Operator guide").
    pulumi_cli_root: Path | None = Field(default=None, description="Directory holding bin/pulumi; PATH when unset.")
    pulumi_home: Path | None = None
    pulumi_backend_url: str | None = Field(
        default=None, description="file://, azblob://, s3://, gs:// or https://api.pulumi.com"
    )
    pulumi_secrets_provider: str = Field(default="passphrase", description="passphrase, or azurekeyvault://...")
    pulumi_config_passphrase: SecretStr | None = None
    pulumi_project: str = Field(default="mcp-adapter", pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    pulumi_stack_prefix: str = Field(default="", max_length=PULUMI_STACK_PREFIX_LIMIT, pattern=r"^[a-z0-9-]*$")
    pulumi_operation_timeout: float = Field(default=1200.0, gt=0)
    pulumi_parallel_operations: int = Field(default=4, ge=1, le=64)
    pulumi_conflict_retries: int = Field(default=6, ge=0, le=100)
    pulumi_conflict_wait_seconds: float = Field(default=10.0, ge=0)
    pulumi_stale_lock_seconds: float = Field(default=3600.0, gt=0)
    pulumi_reapply_seconds: float = Field(default=3600.0, gt=0)
    # Update history entries (and checkpoint copies) kept per stack in a file:// backend; older ones are pruned.
    pulumi_keep_history: int = Field(default=20, ge=1)
    pulumi_install_plugins: bool = True
    pulumi_plugins_dir: Path | None = Field(
        default=None, description="Provider plugins installed ahead of time (the image's), used instead of a download."
    )
    pulumi_policy_packs: CommaList = Field(default_factory=list)
    kubeconfig: Path | None = None
    kube_context: str | None = None
    kube_ready_timeout: float = Field(default=600.0, gt=0)
    azure_subscription_id: str | None = None
    azure_tenant_id: str | None = None
    azure_resource_group: str | None = None
    azure_location: str | None = None
    # On SIGTERM a running operation gets this long to finish before its CLI is interrupted (SIGINT).
    shutdown_grace_seconds: float = Field(default=120.0, ge=0)

    # Data plane.
    upstream_connect_timeout: float = Field(default=10.0, gt=0)
    upstream_read_timeout: float | None = Field(default=None, gt=0)

    @field_validator(*_LIST_FIELDS, mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("pulumi_policy_packs")
    @classmethod
    def _absolute_packs(cls, value: list[str]) -> list[str]:
        # The CLI runs in each stack's work directory: a relative pack path would be looked up there.
        return [str(Path(pack).expanduser().resolve()) for pack in value]

    @field_validator("replica_id")
    @classmethod
    def _replica_id(cls, value: str) -> str:
        return value[:128]

    @field_validator("public_url")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlsplit(value.strip())
        extra = parsed.path.strip("/") or parsed.query or parsed.fragment or parsed.username
        if parsed.scheme not in ("http", "https") or not parsed.hostname or extra:
            raise ValueError(
                f"MCP_ADAPTERS_PUBLIC_URL must be an origin like https://mcp.example.com (the service answers at its "
                f"root), not {value!r}"
            )
        return f"{parsed.scheme}://{parsed.netloc}"

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"MCP_ADAPTERS_MIN_REPLICAS ({self.min_replicas}) is above MAX_REPLICAS")
        return self

    @property
    def entra_settings_given(self) -> list[str]:
        """The ENTRA_* settings that are set: any of them makes `auto` mean Entra ID."""
        given = {
            "ENTRA_TENANT_ID": self.entra_tenant_id,
            "ENTRA_AUDIENCES": self.entra_audiences,
            "ENTRA_ISSUERS": self.entra_issuers,
            "ENTRA_JWKS_URL": self.entra_jwks_url,
            "ENTRA_SCOPES": self.entra_scopes,
        }
        return [PREFIX + name for name, value in given.items() if value]

    @property
    def dev_mode(self) -> bool:
        """Development identity: asked for, or `auto` on loopback with no Entra ID setting at all."""
        if self.auth_mode != "auto":
            return self.auth_mode == "development"
        return not self.entra_settings_given and is_loopback(self.host)

    @cached_property
    def resolved_trusted_servers(self) -> TrustedServers | None:
        """The allow-list: from `TRUSTED_SERVERS` (JSON) or `TRUSTED_SERVERS_FILE` (JSON or YAML)."""
        if self.trusted_servers is not None:
            return self.trusted_servers
        if self.trusted_servers_file is None:
            return None
        import yaml

        try:
            data = yaml.safe_load(self.trusted_servers_file.read_text(encoding="utf-8"))
            return TrustedServers.model_validate(data)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"MCP_ADAPTERS_TRUSTED_SERVERS_FILE: {exc}") from exc

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Plain `postgresql://` means the default driver; psycopg 3 is the one installed.
            for prefix in ("postgresql://", "postgres://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{(self.state_dir / 'state.db').resolve()}"

    @property
    def resolved_pulumi_backend_url(self) -> str:
        if self.pulumi_backend_url:
            return self.pulumi_backend_url
        return f"file://{(self.state_dir / 'pulumi' / 'backend').resolve()}"

    def check(self) -> None:
        """Refuse configurations that would be unsafe to serve; the message says what to set."""
        if self.auth_mode == "development" and (given := self.entra_settings_given):
            raise ConfigurationError(
                f"MCP_ADAPTERS_AUTH_MODE=development would ignore the Entra ID settings given ({', '.join(given)}) "
                "and let any local caller be whoever its headers say: unset them to develop with identity headers, "
                "or unset MCP_ADAPTERS_AUTH_MODE (auto uses Entra ID whenever it is configured)"
            )
        if self.dev_mode and not is_loopback(self.host) and not self.dev_mode_force:
            raise ConfigurationError(
                f"development identity headers on {self.host} would let anyone act as anyone: listen on 127.0.0.1, "
                "configure Entra ID (MCP_ADAPTERS_ENTRA_TENANT_ID, MCP_ADAPTERS_ENTRA_AUDIENCES), "
                "or set MCP_ADAPTERS_DEV_MODE_FORCE=true if this network is private to you"
            )
        if not self.dev_mode:
            if not self.entra_audiences or not (self.entra_tenant_id or (self.entra_issuers and self.entra_jwks_url)):
                raise ConfigurationError(
                    "Entra ID authentication needs MCP_ADAPTERS_ENTRA_TENANT_ID (or MCP_ADAPTERS_ENTRA_ISSUERS and "
                    "MCP_ADAPTERS_ENTRA_JWKS_URL) and MCP_ADAPTERS_ENTRA_AUDIENCES" + self._why_entra()
                )
            if self.resolved_trusted_servers is None:
                raise ConfigurationError(
                    "outside development mode the service runs only trusted servers: set MCP_ADAPTERS_TRUSTED_SERVERS "
                    "(JSON) or MCP_ADAPTERS_TRUSTED_SERVERS_FILE"
                )
        if self.target == "kubernetes":
            self._check_stacks()

    def _why_entra(self) -> str:
        if self.auth_mode != "auto" or not is_loopback(self.host):
            return ""
        given = ", ".join(self.entra_settings_given)
        return f" (auto chose Entra ID because of {given}; unset every MCP_ADAPTERS_ENTRA_* for development mode)"

    def _check_stacks(self) -> None:
        shared = not self.resolved_pulumi_backend_url.startswith("file://")
        if shared and self.pulumi_secrets_provider == "passphrase" and self.pulumi_config_passphrase is None:
            raise ConfigurationError(
                f"stacks in a shared backend ({self.resolved_pulumi_backend_url}) need the same secrets key on every "
                "replica and across restarts, not one generated into this state directory: set "
                "MCP_ADAPTERS_PULUMI_CONFIG_PASSPHRASE or MCP_ADAPTERS_PULUMI_SECRETS_PROVIDER=azurekeyvault://..."
            )
        # A lock younger than the longest an operation can hold it (timeout, then the interrupt grace) is live.
        longest = self.pulumi_operation_timeout + PULUMI_INTERRUPT_GRACE_SECONDS
        if self.pulumi_stale_lock_seconds <= longest:
            raise ConfigurationError(
                f"MCP_ADAPTERS_PULUMI_STALE_LOCK_SECONDS ({self.pulumi_stale_lock_seconds:g}) must exceed "
                f"MCP_ADAPTERS_PULUMI_OPERATION_TIMEOUT + {PULUMI_INTERRUPT_GRACE_SECONDS:g}s ({longest:g}): a running "
                "operation's lock would be taken for stale and cancelled"
            )
        for pack in self.pulumi_policy_packs:
            if problem := policy_pack_problem(Path(pack)):
                raise ConfigurationError(
                    f"MCP_ADAPTERS_PULUMI_POLICY_PACKS: the engine cannot run the pack {pack}: {problem}"
                )


def policy_pack_problem(pack: Path) -> str | None:
    """Why `pulumi up --policy-pack <pack>` could not start this CrossGuard pack here, or None."""
    manifest = pack / "PulumiPolicy.yaml"
    if not manifest.is_file():
        return "it has no PulumiPolicy.yaml (a policy pack is a directory holding one)"
    import yaml

    runtime = (yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}).get("runtime")
    options = (runtime.get("options") or {}) if isinstance(runtime, dict) else {}
    toolchain = options.get("toolchain")
    if toolchain in ("uv", "poetry") and shutil.which(toolchain) is None:
        return f"its runtime uses the {toolchain} toolchain, and {toolchain} is not on PATH"
    virtualenv = options.get("virtualenv")
    if virtualenv and not (pack / virtualenv / "bin" / "python").exists():
        return f"its virtualenv {virtualenv} (relative to the pack) has no bin/python"
    return None
