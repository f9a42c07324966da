"""Secrets at rest: the values `AdapterSpec.secret_names()` names are stored Fernet-encrypted.

The key comes from `MCP_ADAPTERS_SECRET_KEY`, or is generated once into the
state dir (mode 0600). Plain values never reach the database, responses or logs.
The vault does not decide what is secret: the caller names the values to seal.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from mcp_adapters import keyfile
from mcp_adapters.errors import ConfigurationError

KEY_FILE = "secret.key"


class Vault:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise ConfigurationError(
                "MCP_ADAPTERS_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc

    @classmethod
    def from_settings(cls, key: str | None, state_dir: Path) -> Vault:
        if key:
            return cls(key.encode())
        return cls(_key_file(state_dir))

    def seal(self, env: dict[str, str], names: list[str]) -> dict[str, str]:
        """The environment with the values of `names` encrypted."""
        return {k: (self._fernet.encrypt(v.encode()).decode() if k in names else v) for k, v in env.items()}

    def open(self, env: dict[str, str], names: list[str]) -> dict[str, str]:
        try:
            return {k: (self._fernet.decrypt(v.encode()).decode() if k in names else v) for k, v in env.items()}
        except InvalidToken as exc:
            raise ConfigurationError("stored secrets do not open with this MCP_ADAPTERS_SECRET_KEY") from exc


def _key_file(state_dir: Path) -> bytes:
    return keyfile.read_or_create(state_dir / KEY_FILE, Fernet.generate_key).strip()
