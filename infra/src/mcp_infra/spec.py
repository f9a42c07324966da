"""The adapter contract: one pydantic model shared by the service, the render and the policies.

The JSON shape is microsoft/mcp-gateway's `POST /adapters` payload (camelCase).
Server-managed fields (`createdBy`, `createdAt`, ...) are not part of the spec:
the service adds them to what it returns and never accepts them.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from mcp_infra.secrets import secret_names

ADAPTER_NAME_PATTERN: Final = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
IMAGE_NAME_PATTERN: Final = r"^[a-z0-9]+([._/-][a-z0-9]+)*$"
IMAGE_VERSION_PATTERN: Final = r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$"
ENV_NAME_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]*$"

MAX_NAME_LENGTH: Final = 63
MAX_ENV_VARS: Final = 100
MAX_ENV_VALUE_LENGTH: Final = 32 * 1024
MAX_REPLICAS: Final = 100

# Bridge settings an adapter's own environment must never carry, with why.
PLATFORM_ONLY_VARIABLES: Final = {
    "MCP_BRIDGE_UPSTREAM_ALLOW_LOCAL": (
        "letting the proxy reach loopback, link-local, metadata or cluster-API addresses is a platform decision"
    ),
    "MCP_BRIDGE_SERVER_ENV": "the platform lists there which of the adapter's variables its server receives",
}
# Names the proxy reads (exactly as spelled here); another spelling of one would be read by a
# case-insensitive reader, or mistaken for it by a person, so no adapter may use one.
RESERVED_NAMES: Final = frozenset(
    {"MCP_COMMAND", "MCP_ARGS", "MCP_CWD", "MCP_PROXY_URL", "MCP_PROXY_SCOPE", "PORT", "HOST"}
)
RESERVED_PREFIXES: Final = ("MCP_BRIDGE_", "MCP_ADAPTERS_")
# What a target sets for the proxy itself: an adapter's own value for one is dropped, on every target. It would move
# the proxy off the address its probes and the data plane use (HOST, PORT), send a replica's sessions elsewhere
# (the replica id and the peers, listed or templated), or pass for the platform's own marks (the servers' variables,
# the local target's owner). The local target sets HOST, MCP_BRIDGE_PEERS and MCP_ADAPTERS_OWNER, Kubernetes
# MCP_BRIDGE_PEER_URL_TEMPLATE, both the others.
PLATFORM_ENV: Final = frozenset(
    {"HOST", "PORT", "MCP_BRIDGE_REPLICA_ID", "MCP_BRIDGE_PEERS", "MCP_BRIDGE_PEER_URL_TEMPLATE"}
    | {"MCP_BRIDGE_SERVER_ENV", "MCP_ADAPTERS_OWNER"}
)

SERVER_MANAGED_FIELDS: Final = frozenset({"createdBy", "createdAt", "lastUpdatedAt", "generation", "status"})


def is_adapter_name(name: str) -> bool:
    """Whether `name` can name an adapter (what `AdapterSpec.name` accepts)."""
    return len(name) <= MAX_NAME_LENGTH and re.fullmatch(ADAPTER_NAME_PATTERN, name) is not None


def read_by_proxy(name: str) -> bool:
    """Whether the platform's proxy reads this variable, in any spelling: its setting, never its server's."""
    upper = name.upper()
    return upper in RESERVED_NAMES or upper.startswith("MCP_BRIDGE_")


def _check_environment(env: dict[str, str]) -> dict[str, str]:
    if len(env) > MAX_ENV_VARS:
        raise ValueError(f"at most {MAX_ENV_VARS} environment variables are allowed, got {len(env)}")
    for key, value in env.items():
        if not re.fullmatch(ENV_NAME_PATTERN, key):
            raise ValueError(
                f"environment variable name {key!r} is invalid: use letters, digits and '_', not starting with a digit"
            )
        if len(value) > MAX_ENV_VALUE_LENGTH:
            raise ValueError(f"environment variable {key!r} is longer than {MAX_ENV_VALUE_LENGTH} characters")
        if "\x00" in value:
            raise ValueError(f"environment variable {key!r} contains a NUL character")
    for key in sorted(env):
        upper = key.upper()
        if key != upper and (upper in RESERVED_NAMES or upper.startswith(RESERVED_PREFIXES)):
            raise ValueError(
                f"{key} is another spelling of {upper}, a name the platform's proxy reads: "
                f"spell it {upper} if you mean that setting, or pick a name of your own"
            )
        if upper in PLATFORM_ONLY_VARIABLES:
            raise ValueError(f"{key} cannot be set by an adapter: {PLATFORM_ONLY_VARIABLES[upper]}")
    if "MCP_COMMAND" in env and "MCP_PROXY_URL" in env:
        raise ValueError("set either MCP_COMMAND (bridge a stdio server) or MCP_PROXY_URL (forward), not both")
    if "MCP_ARGS" in env and "MCP_COMMAND" not in env:
        raise ValueError("MCP_ARGS is set without MCP_COMMAND: set MCP_COMMAND to the program to run")
    return env


AdapterName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=ADAPTER_NAME_PATTERN),
    Field(
        description="DNS label: lowercase letters, digits and '-', starting with a letter, at most 63 characters.",
        examples=["azure-remote"],
    ),
]
Role = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\s,]+$")]


class AdapterSpec(BaseModel):
    """What a user asks for: the desired state of one adapter."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=False,
    )

    name: AdapterName
    image_name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=255, pattern=IMAGE_NAME_PATTERN),
        Field(description="Image repository under the platform registry, e.g. `mcp-proxy`."),
    ]
    image_version: Annotated[
        str,
        StringConstraints(pattern=IMAGE_VERSION_PATTERN),
        Field(description="Image tag, e.g. `1.0.0`."),
    ]
    environment_variables: Annotated[
        dict[str, str],
        AfterValidator(_check_environment),
        Field(description="Environment of the proxy: MCP_COMMAND + MCP_ARGS (bridge) or MCP_PROXY_URL (forward)."),
    ] = Field(default_factory=dict)
    secret_environment_variables: Annotated[
        list[Annotated[str, StringConstraints(pattern=ENV_NAME_PATTERN)]],
        Field(
            max_length=MAX_ENV_VARS,
            description=(
                "Names in environmentVariables whose values are secrets even if they do not look it: stored sealed, "
                "deployed from a Secret, always shown redacted. Secret-looking names and values are secret anyway."
            ),
            # Left out when empty, so a spec without it reads back exactly as microsoft/mcp-gateway's payload.
            exclude_if=lambda names: not names,
        ),
    ] = Field(default_factory=list)
    replica_count: Annotated[int, Field(ge=1, le=MAX_REPLICAS, description="Number of proxy replicas.")] = 1
    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    use_workload_identity: Annotated[
        bool, Field(description="Give the adapter its own Azure identity (a privilege: admins only by default).")
    ] = False
    required_roles: Annotated[
        list[Role],
        Field(max_length=64, description="App roles allowed to read the adapter and call its endpoint."),
    ] = Field(default_factory=list)

    @field_validator("secret_environment_variables")
    @classmethod
    def _secrets_are_variables(cls, names: list[str], info: ValidationInfo) -> list[str]:
        if "environment_variables" not in info.data:  # it failed its own validation, which says why
            return names
        for name in names:
            if name not in info.data["environment_variables"]:
                raise ValueError(f"{name!r} is not in environmentVariables: list only variables the adapter sets")
        return names

    @property
    def mode(self) -> str:
        """`bridge` (stdio server), `forward` (remote server) or `unset` (neither variable given)."""
        if "MCP_COMMAND" in self.environment_variables:
            return "bridge"
        if "MCP_PROXY_URL" in self.environment_variables:
            return "forward"
        return "unset"

    def secret_names(self) -> list[str]:
        """Names of the variables whose values are secrets, sorted: the one decision (see `mcp_infra.secrets`)."""
        return secret_names(self.environment_variables, self.secret_environment_variables)

    def to_json(self) -> dict[str, object]:
        """The camelCase JSON form, as users send it."""
        return self.model_dump(mode="json", by_alias=True)
