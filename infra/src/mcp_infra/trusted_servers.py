"""Which MCP servers the platform agrees to run: the allow-list behind the `trusted-servers` policy.

Patterns are shell-style globs (`fnmatch`), matched case-sensitively. A package
pattern without a version matches every version of that package
(`@azure-devops/mcp`); with one it constrains it (`@azure/mcp@*`, `mcp-foo==1.*`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


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
        default_factory=lambda: ["*"],
        description="Packages `npx`/`uvx` may fetch, e.g. `@azure/mcp@*` or `git+https://github.com/org/*`.",
    )
    upstream_hosts: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Hosts MCP_PROXY_URL may point at, e.g. `*.azure.com`.",
    )
