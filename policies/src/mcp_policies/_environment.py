"""Which environment variables an adapter may set when the platform keeps a trusted-servers list.

Loaders, interpreters, shells and package managers read variables that change
which code runs or where packages come from; a trusted `MCP_COMMAND` with an
untrusted `NODE_OPTIONS` runs whatever that option loads. Those families are
always refused when a list is configured; the list's `environment.allow` and
`environment.deny` narrow what is left. Names are compared upper-cased:
npm, pip, uv, pydantic-settings and Windows read several of them in any case.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Final

from mcp_infra.trusted_servers import EnvironmentNames

# Checked on their own (command, arguments, upstream), not as environment.
_SERVER_VARIABLES: Final = frozenset({"MCP_COMMAND", "MCP_ARGS", "MCP_PROXY_URL", "MCP_PROXY_SCOPE"})

# (name patterns, what they change): the message says "NAME <what>, which the trusted-servers list cannot vouch for".
_REFUSED: Final[tuple[tuple[tuple[str, ...], str], ...]] = (
    (
        ("LD_*", "DYLD_*", "GLIBC_TUNABLES", "GCONV_PATH", "MALLOC_*", "LOCPATH", "NLSPATH", "HOSTALIASES"),
        "changes which libraries programs load or how they resolve names",
    ),
    (("RES_OPTIONS", "LOCALDOMAIN"), "changes how programs resolve host names"),
    (
        ("NODE_*", "NPM_CONFIG_*", "YARN_*", "PNPM_*", "COREPACK_*", "BUN_*", "DENO_*", "NVM_*", "VOLTA_*"),
        "changes how node loads programs or where npm fetches packages",
    ),
    (
        ("PYTHON*", "UV_*", "PIP_*", "PIPX_*", "VIRTUAL_ENV", "CONDA_*", "POETRY_*", "PDM_*"),
        "changes how Python loads modules or where uv and pip fetch packages",
    ),
    (
        ("PERL5*", "PERLLIB", "PERL_*", "RUBY*", "GEM_*", "BUNDLE_*", "LUA_*", "PHPRC", "PHP_INI_SCAN_DIR"),
        "changes how an interpreter loads code",
    ),
    (
        ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "JAVA_HOME"),
        "changes how Java loads code",
    ),
    (("DOTNET_*", "COMPLUS_*", "CORECLR_*"), "changes how .NET loads code"),
    (
        ("GOFLAGS", "GOPROXY", "GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE", "GOINSECURE", "GOTOOLCHAIN", "GOENV"),
        "changes where Go fetches modules",
    ),
    (
        ("PATH", "BASH_*", "ENV", "SHELL*", "IFS", "CDPATH", "PS4", "PROMPT_COMMAND", "ZDOTDIR", "INPUTRC"),
        "changes which programs run or what a shell runs first",
    ),
    (("GIT_*", "SSH_*"), "changes what git runs or where it fetches from"),
    (
        ("*_PROXY", "SSL_CERT_*", "*_CA_BUNDLE", "*_CA_CERTS", "OPENSSL_*", "SSLKEYLOGFILE", "NETRC", "CURL_HOME"),
        "changes which hosts programs reach or which certificates they trust",
    ),
    (
        ("HOME", "XDG_*", "TMPDIR", "TMP", "TEMP", "MCP_CWD"),
        "changes where programs read their configuration and local packages from",
    ),
    (("KUBERNETES_*",), "is set by the platform (cluster access)"),
    (
        (
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_AUTHORITY_HOST",
            "IDENTITY_*",
            "MSI_*",
            "IMDS_ENDPOINT",
        ),
        "is set by the platform (workload identity)",
    ),
    (
        ("MCP_ADAPTERS_*", "MCP_BRIDGE_*", "PORT", "HOST", *_SERVER_VARIABLES),
        "is a setting of the platform's proxy (the contract names are upper-case)",
    ),
)
# Inside the families above, but known to change only output, encoding or tuning, not what runs.
_HARMLESS: Final = frozenset(
    {"PYTHONUNBUFFERED", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE", "NODE_ENV", "NODE_NO_WARNINGS"}
    | {"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "DOTNET_CLI_TELEMETRY_OPTOUT", "DOTNET_NOLOGO"}
    | {f"MCP_BRIDGE_{name}" for name in ("SESSION_MODE", "MAX_SESSIONS", "SESSION_IDLE_TIMEOUT", "WARM_POOL")}
    | {f"MCP_BRIDGE_{name}" for name in ("STATELESS_POOL", "STATELESS_MAX_IN_FLIGHT", "REQUEST_TIMEOUT")}
    | {f"MCP_BRIDGE_{name}" for name in ("START_TIMEOUT", "MAX_BODY_BYTES", "MAX_MESSAGE_BYTES", "DRAIN_GRACE")}
    | {f"MCP_BRIDGE_{name}" for name in ("RESTART_BACKOFF_INITIAL", "RESTART_BACKOFF_MAX", "LOG_LEVEL")}
    | {f"MCP_BRIDGE_{name}" for name in ("LOG_FORMAT", "UPSTREAM_CONNECT_TIMEOUT", "TOKEN_REFRESH_MARGIN")}
    | {f"MCP_BRIDGE_{name}" for name in ("TOKEN_START_DEADLINE", "TOKEN_RETRY_INITIAL", "TOKEN_RETRY_MAX")}
)


def refused_family(name: str) -> str | None:
    """What a built-in refused variable changes, or None when the name is outside those families."""
    upper = name.upper()
    if upper in _HARMLESS and name == upper:
        return None
    for patterns, what in _REFUSED:
        if any(fnmatchcase(upper, p) for p in patterns):
            return what
    return None


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(name.upper(), p.upper()) for p in patterns)


def environment_problems(env: Mapping[str, str], rule: EnvironmentNames) -> Iterator[str]:
    """Each variable the adapter may not set, as a message saying what to change."""
    for name in sorted(env):
        if name in _SERVER_VARIABLES:
            continue
        what = refused_family(name)
        if what is not None:
            yield (
                f"{name} {what}, which the trusted-servers list cannot vouch for: remove it, or ask the "
                "platform team to set what you need for every adapter"
            )
        elif _matches(name, rule.deny):
            yield f"{name} is refused by this platform's environment list (deny: {', '.join(rule.deny)}): remove it"
        elif not _matches(name, rule.allow):
            yield (
                f"{name} is not an environment variable this platform lets adapters set "
                f"(allow: {', '.join(rule.allow)}): remove it, or ask the platform team to allow it"
            )
