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


def test_every_adapter_name_leaves_a_stack_name_pulumi_accepts(tmp_path: Path) -> None:
    from mcp_adapters.settings import PULUMI_STACK_NAME_LIMIT, PULUMI_STACK_PREFIX_LIMIT
    from mcp_infra.spec import MAX_NAME_LENGTH
    from pydantic import ValidationError

    assert PULUMI_STACK_NAME_LIMIT == 100  # tokens.ParseStackName: "a stack name cannot exceed 100 characters"
    assert PULUMI_STACK_PREFIX_LIMIT + MAX_NAME_LENGTH == PULUMI_STACK_NAME_LIMIT
    kubernetes(tmp_path, pulumi_stack_prefix="x" * PULUMI_STACK_PREFIX_LIMIT).check()
    with pytest.raises(ValidationError, match="at most 37 characters"):
        kubernetes(tmp_path, pulumi_stack_prefix="x" * (PULUMI_STACK_PREFIX_LIMIT + 1))


def pack(root: Path, runtime: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "PulumiPolicy.yaml").write_text(f"runtime:\n{runtime}version: 0.1.0\n")
    (root / "__main__.py").write_text("")
    return root


def test_a_policy_pack_the_engine_cannot_run_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no uv here, as in the image
    with pytest.raises(ConfigurationError, match=r"no PulumiPolicy\.yaml"):
        kubernetes(tmp_path, pulumi_policy_packs=str(tmp_path / "nowhere")).check()
    uv_pack = pack(tmp_path / "policies", "  name: python\n  options:\n    toolchain: uv\n    virtualenv: ../.venv\n")
    with pytest.raises(ConfigurationError, match="uv toolchain, and uv is not on PATH"):
        kubernetes(tmp_path, pulumi_policy_packs=str(uv_pack)).check()
    venv_pack = pack(tmp_path / "opt" / "policy-pack", "  name: python\n  options:\n    virtualenv: ../venv\n")
    with pytest.raises(ConfigurationError, match=r"virtualenv \.\./venv"):
        kubernetes(tmp_path, pulumi_policy_packs=str(venv_pack)).check()
    (tmp_path / "opt" / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "opt" / "venv" / "bin" / "python").write_text("")
    kubernetes(tmp_path, pulumi_policy_packs=str(venv_pack)).check()


def test_a_relative_policy_pack_is_found_where_the_service_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI runs in each stack's work directory; "policies" must not be looked up there.
    monkeypatch.chdir(tmp_path)
    assert kubernetes(tmp_path, pulumi_policy_packs="policies").pulumi_policy_packs == [str(tmp_path / "policies")]
