"""Which environment values are secrets: by their name, by their value, or because the caller said so.

`secret_names` is the one decision: the vault seals what it returns, the render
puts it in a Kubernetes Secret, the service redacts it and the policy rule
refuses it as a plain pod variable. It errs on the side of secrecy: a false
positive only means a value is stored sealed and shown as `<redacted>`; a false
negative leaks it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Final

# Found anywhere in the upper-cased name: long enough not to occur by accident (`PGPASSWORD`, `SESSION_COOKIE`).
_SECRET_FRAGMENTS: Final = (
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "ACCESSKEY",
    "PRIVATE",
    "AUTHORIZATION",
    "BEARER",
    "COOKIE",
    "SESSION",
    "WEBHOOK",
    "SIGNATURE",
    "CERTIFICATE",
    "CONNECTION_STRING",
    "CONNECTIONSTRING",
)
# Short words count only as a whole `_`-separated part: `MONKEY` is no `KEY`, `BYPASS` no `PASS`.
_SECRET_PARTS: Final = frozenset(
    {"PASS", "PWD", "KEY", "KEYS", "PAT", "AUTH", "OAUTH", "JWT", "CERT", "DSN", "SAS", "SIG", "CRED", "CREDS", "PIN"}
)
# Names of where a secret is, or of which kind of credential to use, not the secret itself:
# `AZURE_FEDERATED_TOKEN_FILE=/var/run/...`, `AZURE_TOKEN_CREDENTIALS=WorkloadIdentityCredential`.
_LOCATION_SUFFIXES: Final = ("_FILE", "_PATH", "_DIR", "_NAME", "_TOKEN_CREDENTIALS")
# An address is plain only when the name says it is an identity service's (`OAUTH_TOKEN_URL`, `AZURE_KEY_VAULT_URL`);
# `SLACK_WEBHOOK_URL` or `STORAGE_SAS_URL` are the secret, and a password inside any URL is caught by its value.
_ADDRESS_SUFFIXES: Final = ("_URL", "_URI", "_ENDPOINT", "_HOST", "_AUTHORITY")
_IDENTITY_SERVICE_WORDS: Final = frozenset({"TOKEN", "AUTH", "OAUTH", "AUTHORIZATION", "KEY", "CERT", "CERTIFICATE"})
# A boolean carries no secret: `AZURE_MCP_INCLUDE_PRODUCTION_CREDENTIALS=true` is a switch, not a credential.
_SWITCH_VALUES: Final = frozenset({"true", "false"})

# `scheme://userinfo@`: a user and password (`postgresql://u:p@h/db`) or a key as the user (a Sentry DSN).
_URL_USERINFO: Final = re.compile(r"([a-z][a-z0-9+.-]*)://([^\s/?#@]+)@", re.IGNORECASE)
_QUERY_PARAMETER: Final = re.compile(r"[?&]([A-Za-z0-9_.-]+)=[^&#\s]")
# URLs whose path is the credential: whoever knows them may post.
_CAPABILITY_URL: Final = re.compile(
    r"hooks\.slack\.com/|discord(?:app)?\.com/api/webhooks/|webhook\.office\.com/|outlook\.office\.com/webhook",
    re.IGNORECASE,
)
_KEYWORD_SECRET: Final = re.compile(
    r"(?:^|[;\s])(?:password|pwd|passwd|accountkey|sharedaccesskey|sharedaccesssignature|client_?secret)\s*=\s*[^\s;]",
    re.IGNORECASE,
)
_PRIVATE_KEY: Final = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_JWT: Final = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.")
_KNOWN_TOKEN: Final = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36})"
)


def _secret_words(upper: str) -> set[str]:
    words = {fragment for fragment in _SECRET_FRAGMENTS if fragment in upper}
    return words | {part for part in upper.split("_") if part in _SECRET_PARTS}


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says its value is a secret (`PGPASSWORD`, `SENTRY_DSN`, `SLACK_WEBHOOK_URL`)."""
    upper = name.upper()
    if upper.endswith(_LOCATION_SUFFIXES):
        return False
    words = _secret_words(upper)
    if upper.endswith(_ADDRESS_SUFFIXES):
        return not words <= _IDENTITY_SERVICE_WORDS
    return bool(words)


def is_secret_value(value: str) -> bool:
    """Whether a value carries a credential whatever its name: a URL with one in it, a key, a token."""
    for match in _URL_USERINFO.finditer(value):
        scheme, userinfo = match.group(1).lower(), match.group(2)
        # An SSH user (`git+ssh://git@github.com/...`) is a login name; the key is elsewhere.
        if ":" in userinfo or not scheme.endswith("ssh"):
            return True
    if any(_is_secret_parameter(p) for p in _QUERY_PARAMETER.findall(value)):
        return True
    patterns = (_CAPABILITY_URL, _KEYWORD_SECRET, _PRIVATE_KEY, _JWT, _KNOWN_TOKEN)
    return any(pattern.search(value) for pattern in patterns)


def _is_secret_parameter(parameter: str) -> bool:
    return bool(_secret_words(re.sub(r"[-.]", "_", parameter).upper()))  # `?sig=` (SAS), `?api_key=`, `?token=`


@functools.lru_cache(maxsize=16384)
def is_secret(name: str, value: str) -> bool:
    """Whether one variable's value must be sealed, kept in a Secret and shown redacted.

    Remembered: every list of adapters asks again for every variable (an open portal polls it), and the
    answer for a name and value never changes."""
    if is_secret_value(value):
        return True
    return is_secret_name(name) and value.lower() not in _SWITCH_VALUES


def secret_names(env: Mapping[str, str], marked: Iterable[str] = ()) -> list[str]:
    """Names in `env` whose values are secrets, sorted: those `marked` by the caller, and those that look it."""
    found = {name for name, value in env.items() if is_secret(name, value)}
    return sorted(found | {name for name in marked if name in env})
