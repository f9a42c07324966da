from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp_infra.adapters_file import AdaptersFileError, load_adapters

ONE = {"name": "a", "imageName": "mcp-proxy", "imageVersion": "1.0.0"}


def test_a_single_json_object(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(ONE))
    assert [s.name for s in load_adapters(path)] == ["a"]


def test_a_yaml_list_and_several_documents(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "- {name: a, imageName: mcp-proxy, imageVersion: '1'}\n- {name: b, imageName: mcp-proxy, imageVersion: '1'}\n"
        "---\nname: c\nimageName: mcp-proxy\nimageVersion: '2'\n---\n"
    )
    assert [s.name for s in load_adapters(path)] == ["a", "b", "c"]


def test_server_managed_fields_from_get_output_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "got.json"
    path.write_text(json.dumps({**ONE, "createdBy": "me", "generation": 3, "status": {"phase": "Ready"}}))
    assert load_adapters(path)[0].name == "a"


def test_errors_name_the_file_the_entry_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- {name: ok, imageName: mcp-proxy, imageVersion: '1'}\n- {name: Bad_Name, imageName: x}\n")
    with pytest.raises(AdaptersFileError) as error:
        load_adapters(path)
    message = str(error.value)
    assert str(path) in message
    assert "entry 2 (Bad_Name)" in message
    assert "field name" in message
    assert "field imageVersion" in message


def test_duplicates_and_unknown_fields_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(json.dumps([ONE, ONE]))
    with pytest.raises(AdaptersFileError, match="already defined by entry 1"):
        load_adapters(path)
    path.write_text(json.dumps({**ONE, "replicas": 2}))
    with pytest.raises(AdaptersFileError, match="field replicas"):
        load_adapters(path)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(AdaptersFileError, match="cannot read"):
        load_adapters(tmp_path / "missing.json")
    path = tmp_path / "broken.json"
    path.write_text("{")
    with pytest.raises(AdaptersFileError, match="not valid JSON"):
        load_adapters(path)
    path = tmp_path / "scalar.yaml"
    path.write_text("just a string\n")
    with pytest.raises(AdaptersFileError, match="expected an object"):
        load_adapters(path)
