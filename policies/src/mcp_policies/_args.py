"""`MCP_ARGS` for `npx` and `uvx`, parsed against an allow-list of options.

Only options known to change nothing about what runs or where it comes from
are accepted; any other option is a problem, so a new registry, config file,
script shell or inline program cannot slip in under a name nobody listed.
Both tools stop reading their own options at the first positional argument:
what follows belongs to the server.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Final

# npx: flags, and options whose value is the next argument (or follows `=`).
_NPX_FLAGS: Final = frozenset(
    {"-y", "--yes", "--no", "-q", "--quiet", "-s", "--silent", "--prefer-offline", "--prefer-online", "--offline"}
    | {"--no-audit", "--no-fund", "--no-update-notifier"}
)
_NPX_VALUED: Final = {"-p": "package", "--package": "package", "--loglevel": "loglevel"}
_NPM_LOGLEVELS: Final = frozenset({"silent", "error", "warn", "notice", "http", "info", "verbose", "silly"})

_UVX_FLAGS: Final = frozenset(
    {"-q", "--quiet", "-v", "--verbose", "--offline", "--no-progress", "--isolated", "--refresh", "--no-cache"}
    | {"--no-config", "--no-python-downloads", "--managed-python", "--no-managed-python"}
)
_UVX_VALUED: Final = {
    "--from": "from",
    "--with": "with",
    "-w": "with",
    "--python": "python",
    "-p": "python",
    "--prerelease": "choice",
    "--resolution": "choice",
    "--exclude-newer": "date",
    "--color": "choice",
}
_UVX_CHOICES: Final = frozenset(
    {"allow", "disallow", "if-necessary", "explicit", "if-necessary-or-explicit", "highest", "lowest", "lowest-direct"}
    | {"auto", "always", "never"}
)
# A Python version request (`3.12`, `cpython3.12`, `>=3.11`), never a path to an interpreter.
_PYTHON_REQUEST: Final = re.compile(r"(cpython|pypy|python)?[-@]?([<>=!~]=?)?[0-9]+(\.[0-9*]+){0,2}t?")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+Z?)?")
# Programs a uv tool environment (or PATH) provides whatever the package: they would run code of the caller's choosing.
_UVX_NOT_COMMANDS: Final = re.compile(
    r"(python|pypy|pip|pydoc|activate|deactivate|idle|2to3)[0-9.]*(w|\..*)?|uvx?|sh|bash|dash|zsh|env|node|perl|ruby"
)
_ARCHIVE: Final = (".tgz", ".tar", ".tar.gz", ".whl", ".zip", ".egg")


@dataclass
class Parsed:
    packages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def is_plain(spec: str, tool: str) -> bool:
    """A registry name with an optional version: not an alias (`x@npm:y`), URL, git spec, path or archive."""
    body = spec.split("/", 1)[1] if tool == "npx" and spec.startswith("@") and "/" in spec else spec
    return not (
        any(c in body for c in ":/\\")
        or spec.startswith((".", "~"))
        or spec.lower().endswith(_ARCHIVE)
        or not body
        or body.startswith("@")
    )


def unversioned(spec: str, tool: str) -> str:
    """`@azure/mcp@1.0` -> `@azure/mcp`, `mcp-foo[x]==1.2` -> `mcp-foo`, `ruff@0.3` -> `ruff`."""
    if tool == "npx":
        return re.sub(r"(?<=.)@.*", "", spec)
    return re.split(r"[=<>!~\[; @,]", spec, maxsplit=1)[0]


def _split(args: str, parsed: Parsed) -> list[str] | None:
    try:
        return shlex.split(args)
    except ValueError as exc:
        parsed.problems.append(f"MCP_ARGS cannot be split like a shell would: {exc}")
        return None


def _options(
    argv: list[str], flags: frozenset[str], valued: dict[str, str], tool: str, parsed: Parsed
) -> tuple[list[tuple[str, str]], list[str]]:
    """The tool's own options (kind, value) and the rest, from the first positional on."""
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return found, argv[i + 1 :]
        if not arg.startswith("-"):
            return found, argv[i:]
        name, eq, value = arg.partition("=")
        if arg in flags:
            pass
        elif name in valued and (eq or i + 1 < len(argv)):
            if not eq:
                i += 1
                value = argv[i]
            found.append((valued[name], value))
        else:
            parsed.problems.append(
                f"{tool} option {name} is not one this platform knows to be harmless (it may change what runs "
                "or where packages come from): remove it, or ask the platform team"
            )
            return found, []  # its value, if it takes one, is not a package
        i += 1
    return found, []


def parse_npx(args: str) -> Parsed:
    """`npx [options] <package> [args]`, or `npx -p <package>... <bin> [args]` where the bin is the package's."""
    parsed = Parsed()
    argv = _split(args, parsed)
    if argv is None:
        return parsed
    options, rest = _options(argv, _NPX_FLAGS, _NPX_VALUED, "npx", parsed)
    for kind, value in options:
        if kind == "loglevel" and value not in _NPM_LOGLEVELS:
            parsed.problems.append(f"npx --loglevel {value!r} is not a log level")
    named = [value for kind, value in options if kind == "package"]
    if not named:
        parsed.packages = rest[:1]
        return parsed
    parsed.packages = named
    if not rest:
        parsed.problems.append("npx -p names no command to run: name the package's bin after it")
        return parsed
    bins = {part for p in named for part in (unversioned(p, "npx"), unversioned(p, "npx").rsplit("/", 1)[-1])}
    if rest[0] not in bins:
        parsed.problems.append(
            f"npx -p runs {rest[0]!r}, which is not the bin of a package it names ({', '.join(sorted(bins))}): "
            "run the package itself with `npx -y <package>`"
        )
    return parsed


def parse_uvx(args: str) -> Parsed:
    """`uvx [options] <package> [args]`, or `uvx --from <package> <command> [args]`."""
    parsed = Parsed()
    argv = _split(args, parsed)
    if argv is None:
        return parsed
    options, rest = _options(argv, _UVX_FLAGS, _UVX_VALUED, "uvx", parsed)
    source: str | None = None
    for kind, value in options:
        if kind == "from":
            source = value
        elif kind == "with":
            parsed.packages += _comma_separated(value)
        elif kind == "python" and not _PYTHON_REQUEST.fullmatch(value):
            parsed.problems.append(f"uvx --python {value!r} is not a Python version (a path would run any program)")
        elif kind == "choice" and value not in _UVX_CHOICES:
            parsed.problems.append(f"uvx option value {value!r} is not one this platform knows")
        elif kind == "date" and not _DATE.fullmatch(value):
            parsed.problems.append(f"uvx --exclude-newer {value!r} is not a date")
    if source is None:
        parsed.packages += rest[:1]
        return parsed
    parsed.packages.insert(0, source)
    if rest and (_UVX_NOT_COMMANDS.fullmatch(rest[0]) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", rest[0])):
        parsed.problems.append(
            f"uvx --from runs {rest[0]!r}, an interpreter, shell or path rather than the package's own command: "
            "name the command the package provides"
        )
    return parsed


def _comma_separated(value: str) -> list[str]:
    """uv's `--with a,b>=1,<2`: commas separate requirements unless a version specifier follows."""
    found: list[str] = []
    for part in value.split(","):
        if found and re.match(r"\s*[=<>!~]", part):
            found[-1] += "," + part
        elif part.strip():
            found.append(part.strip())
    return found
