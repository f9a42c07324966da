"""Which MCP servers the platform agrees to run: the allow-list behind the `trusted-servers` policy.

Patterns are shell-style globs (`fnmatch`), matched case-sensitively, except
environment variable names, which are compared upper-cased (pydantic-settings,
Windows and several package managers read them case-insensitively). A package
pattern without a version matches every version of that package
(`@azure-devops/mcp`); with one it constrains it (`@azure/mcp@*`, `mcp-foo==1.*`).
A package alias, URL or path (`x@npm:y`, `git+https://...`, `file:...`) is
trusted only when a pattern names it as such.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class EnvironmentNames(BaseModel):
    """Which variables an adapter may set, on top of the families the platform always refuses.

    The built-in refusals (variables that change how programs load or where
    packages come from, and the platform's own) apply whenever a trusted list
    is configured; `allow` and `deny` narrow what is left.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    allow: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Name patterns adapters may set, compared case-insensitively, e.g. `AZURE_*`.",
    )
    deny: list[str] = Field(
        default_factory=list,
        description="Name patterns refused even when `allow` matches, compared case-insensitively.",
    )


class TrustedServers(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    images: list[str] = Field(
        default_factory=lambda: ["mcp-proxy"],
        description="Image names (without registry and tag) adapters may run.",
    )
    commands: list[str] = Field(
        default_factory=lambda: ["npx", "uvx"],
        description="Values MCP_COMMAND may take (exact programs, not paths).",
    )
    packages: list[str] = Field(
        default_factory=lambda: ["*", "git+https://*"],
        description=(
            "Packages `npx`/`uvx` may fetch, e.g. `@azure/mcp@*` or `git+https://github.com/org/*`. `*` and "
            "`name@*` match registry packages only: an alias, URL or path needs a pattern that is one."
        ),
    )
    upstream_hosts: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Hosts MCP_PROXY_URL may point at, e.g. `*.azure.com`.",
    )
    environment: EnvironmentNames = Field(
        default_factory=EnvironmentNames,
        description="Environment variable names adapters may set (the built-in refusals always apply).",
    )
