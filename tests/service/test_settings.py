"""Settings the kubernetes target refuses at start, with a message that says what to set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp_adapters.errors import ConfigurationError
from mcp_adapters.settings import Settings


def kubernetes(tmp_path: Path, **values: Any) -> Settings:
    return Settings(state_dir=tmp_path, target="kubernetes", **values)


def test_a_shared_stack_backend_needs_one_secrets_key_for_every_replica(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MCP_ADAPTERS_PULUMI_CONFIG_PASSPHRASE"):
        kubernetes(tmp_path, pulumi_backend_url="azblob://stacks").check()
    kubernetes(tmp_path, pulumi_backend_url="azblob://stacks", pulumi_config_passphrase="p").check()
    vault = "azurekeyvault://v.vault.azure.net/keys/k"
    kubernetes(tmp_path, pulumi_backend_url="azblob://stacks", pulumi_secrets_provider=vault).check()
    kubernetes(tmp_path).check()  # file:// under the state dir: the generated passphrase lives beside it


def test_a_lock_cannot_count_as_stale_while_its_operation_may_still_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="STALE_LOCK_SECONDS"):
        kubernetes(tmp_path, pulumi_operation_timeout=3600, pulumi_stale_lock_seconds=3600).check()
    kubernetes(tmp_path, pulumi_operation_timeout=3600, pulumi_stale_lock_seconds=3661).check()
