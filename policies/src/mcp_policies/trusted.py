"""Trusted servers: which images, commands, packages and upstreams an adapter may use.

`check_trusted` works on an adapter spec, so the service can refuse an
untrusted adapter at admission; the `trusted-servers` rule applies the same
check to rendered pods.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Final
from urllib.parse import urlsplit

from mcp_infra.spec import AdapterSpec
from mcp_infra.trusted_servers import TrustedServers

from mcp_policies.findings import Finding, ResourceRef

POLICY: Final = "trusted-servers"
ADAPTER_TYPE: Final = "mcp-adapters:index:McpAdapter"
# Options whose value is the next argument; everything else starting with '-' is a flag.
_NPX_VALUED: Final = frozenset({"-p", "--package", "-c", "--call", "--registry", "--cache", "-w", "--workspace"})
_UVX_VALUED: Final = frozenset(
    {
        "--from",
        "--with",
        "-w",
        "--with-editable",
        "--with-requirements",
        "--python",
        "-p",
        "--index",
        "--index-url",
        "-i",
        "--default-index",
        "--extra-index-url",
        "--find-links",
        "-f",
        "--prerelease",
        "--resolution",
        "--constraint",
        "-c",
        "--constraints",
        "--override",
        "--overrides",
        "--build-constraint",
        "--env-file",
        "--python-platform",
        "--cache-dir",
        "--directory",
        "--project",
        "--config-file",
        "--color",
        "--refresh-package",
        "--reinstall-package",
        "--upgrade-package",
        "-P",
        "--exclude-newer",
        "--keyring-provider",
        "--index-strategy",
        "--link-mode",
        "--config-setting",
        "-C",
        "--no-build-package",
        "--no-binary-package",
        "--allow-insecure-host",
        "--torch-backend",
        "--python-preference",
        "--no-sources-package",
    }
)
_SOURCES: Final = frozenset(
    {"--registry", "--index", "--index-url", "-i", "--default-index", "--extra-index-url", "--find-links", "-f"}
)


def packages(command: str, args: str) -> tuple[list[str], list[str]]:
    """The packages `npx`/`uvx` would fetch and any problems (unknown sources, inline shell) found on the way."""
    try:
        argv = shlex.split(args)
    except ValueError as exc:
        return [], [f"MCP_ARGS cannot be split like a shell would: {exc}"]
    valued = _NPX_VALUED if command == "npx" else _UVX_VALUED
    options: list[tuple[str, str]] = []
    positional: str | None = None
    i = 0
    while i < len(argv) and positional is None:
        arg = argv[i]
        if arg == "--":
            positional = argv[i + 1] if i + 1 < len(argv) else None
        elif arg.startswith("-"):
            name, eq, value = arg.partition("=")
            if not eq and name in valued and i + 1 < len(argv):
                i += 1
                value = argv[i]
            options.append((name, value))
        else:
            positional = arg
        i += 1
    problems = [
        f"{name} {value} fetches from a source the allow-list cannot vouch for"
        for name, value in options
        if name in _SOURCES
    ]
    if command == "npx":
        if any(name in ("-c", "--call") for name, _ in options):
            problems.append("npx --call runs a shell command: name the package to run instead")
        named = [value for name, value in options if name in ("-p", "--package")]
    else:
        named = [value for name, value in options if name in ("--from", "--with", "-w", "--with-editable")]
        if any(name == "--from" for name, _ in options):
            positional = None  # with --from, the positional is the command inside that package
    found = named if command == "npx" and named else [*named, *([positional] if positional else [])]
    return found, problems


def _unversioned(package: str) -> str:
    if package.startswith(("git+", "http://", "https://", "file:", "/", ".")):
        return package
    npm = re.fullmatch(r"(@?[^@]+)@.*", package)
    if npm:
        return npm.group(1)
    return re.split(r"[=<>!~\[; ]", package, maxsplit=1)[0]


def package_allowed(package: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(package, p) or fnmatchcase(_unversioned(package), p) for p in patterns)


def image_allowed(repository: str, patterns: list[str]) -> bool:
    """`registry/team/mcp-proxy` matches `mcp-proxy`, `team/mcp-proxy` or a full-path pattern."""
    parts = repository.split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    return any(fnmatchcase(tail, p) for tail in tails for p in patterns)


def server_problems(image: str | None, env: Mapping[str, str], allow: TrustedServers) -> Iterator[str]:
    """What makes this image + environment untrusted, each as a message saying what to change."""
    if image is not None and not image_allowed(image, allow.images):
        yield f"image {image} is not a trusted server image ({', '.join(allow.images)}): use one or ask to add it"
    command = env.get("MCP_COMMAND")
    if command is not None:
        if not any(fnmatchcase(command, p) for p in allow.commands):
            yield f"MCP_COMMAND {command!r} is not trusted ({', '.join(allow.commands)}): use one of them"
        elif command in ("npx", "uvx"):
            found, problems = packages(command, env.get("MCP_ARGS", ""))
            yield from (f"MCP_ARGS: {p}" for p in problems)
            if not found:
                yield f"MCP_ARGS names no package for {command} to run: name it explicitly"
            for package in found:
                if not package_allowed(package, allow.packages):
                    yield f"package {package} is not trusted ({', '.join(allow.packages)}): ask to add it"
    url = env.get("MCP_PROXY_URL")
    if url is not None:
        host = urlsplit(url).hostname or ""
        if not any(fnmatchcase(host, p) for p in allow.upstream_hosts):
            yield f"MCP_PROXY_URL host {host!r} is not trusted ({', '.join(allow.upstream_hosts)}): ask to add it"


def check_trusted(spec: AdapterSpec, allow: TrustedServers) -> list[Finding]:
    """Admission check: findings (mandatory) when the adapter would run something not on the allow-list."""
    resource = ResourceRef(type=ADAPTER_TYPE, name=spec.name)
    return [
        Finding(policy=POLICY, enforcement="mandatory", resource=resource, message=message)
        for message in server_problems(spec.image_name, spec.environment_variables, allow)
    ]
