"""Trusted servers: which images, commands, packages, environment and upstreams an adapter may use.

`check_trusted` works on an adapter spec, so the service can refuse an
untrusted adapter at admission; the `trusted-servers` rule applies the same
check to rendered pods. `MCP_ARGS` is parsed against the options `npx`/`uvx`
are known to take harmlessly (`_args.py`); the environment against the
families that change what those programs run (`_environment.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Final
from urllib.parse import urlsplit

from mcp_infra.names import ADAPTER_TYPE_TOKEN
from mcp_infra.spec import AdapterSpec
from mcp_infra.trusted_servers import TrustedServers

from mcp_policies._args import Parsed, is_plain, parse_npx, parse_uvx, unversioned
from mcp_policies._environment import environment_problems
from mcp_policies.findings import Finding, ResourceRef

__all__ = ["POLICY", "check_trusted", "image_allowed", "package_allowed", "packages", "server_problems"]

POLICY: Final = "trusted-servers"


def packages(command: str, args: str) -> tuple[list[str], list[str]]:
    """The packages `npx`/`uvx` would fetch and any problems (unknown options, inline code) found on the way."""
    parsed = _parse(command, args)
    return parsed.packages, parsed.problems


def _parse(command: str, args: str) -> Parsed:
    return parse_npx(args) if command == "npx" else parse_uvx(args)


def package_allowed(package: str, patterns: list[str], tool: str = "npx") -> bool:
    """A registry package matches a pattern for its name or name@version; an alias, URL or path only a
    pattern that is itself one (`git+https://github.com/org/*`), never `*` or `name@*`."""
    if is_plain(package, tool):
        return any(fnmatchcase(package, p) or fnmatchcase(unversioned(package, tool), p) for p in patterns)
    return any(fnmatchcase(package, p) for p in patterns if not is_plain(p, tool))


def image_allowed(repository: str, patterns: list[str]) -> bool:
    """`registry/team/mcp-proxy` matches `mcp-proxy`, `team/mcp-proxy` or a full-path pattern."""
    parts = repository.split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    return any(fnmatchcase(tail, p) for tail in tails for p in patterns)


def _command_problems(command: str, args: str, allow: TrustedServers) -> Iterator[str]:
    parsed = _parse(command, args)
    yield from (f"MCP_ARGS: {p}" for p in parsed.problems)
    if not parsed.packages and not parsed.problems:
        yield f"MCP_ARGS names no package for {command} to run: name it explicitly"
    for package in parsed.packages:
        if not package_allowed(package, allow.packages, command):
            hint = "" if is_plain(package, command) else " (an alias, URL or path needs a pattern naming it)"
            yield f"package {package} is not trusted ({', '.join(allow.packages)}){hint}: ask to add it"


def server_problems(image: str | None, env: Mapping[str, str], allow: TrustedServers) -> Iterator[str]:
    """What makes this image + environment untrusted, each as a message saying what to change."""
    if image is not None and not image_allowed(image, allow.images):
        yield f"image {image} is not a trusted server image ({', '.join(allow.images)}): use one or ask to add it"
    command = env.get("MCP_COMMAND")
    if command is not None:
        if not any(fnmatchcase(command, p) for p in allow.commands):
            yield f"MCP_COMMAND {command!r} is not trusted ({', '.join(allow.commands)}): use one of them"
        elif command in ("npx", "uvx"):
            yield from _command_problems(command, env.get("MCP_ARGS", ""), allow)
    url = env.get("MCP_PROXY_URL")
    if url is not None:
        host = urlsplit(url).hostname or ""
        if not any(fnmatchcase(host, p) for p in allow.upstream_hosts):
            yield f"MCP_PROXY_URL host {host!r} is not trusted ({', '.join(allow.upstream_hosts)}): ask to add it"
    yield from environment_problems(env, allow.environment)


def check_trusted(spec: AdapterSpec, allow: TrustedServers) -> list[Finding]:
    """Admission check: findings (mandatory) when the adapter would run something not on the allow-list."""
    resource = ResourceRef(type=ADAPTER_TYPE_TOKEN, name=spec.name)
    return [
        Finding(policy=POLICY, enforcement="mandatory", resource=resource, message=message)
        for message in server_problems(spec.image_name, spec.environment_variables, allow)
    ]
