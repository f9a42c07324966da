"""Declarative adapters files: the `POST /adapters` payloads, one or many per JSON or YAML file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mcp_infra.spec import SERVER_MANAGED_FIELDS, AdapterSpec


class AdaptersFileError(ValueError):
    """The file cannot be read as adapters; the message names the file, the entry and the field."""


def load_adapters(path: str | Path) -> list[AdapterSpec]:
    """Adapters from a file holding one object, a list, or (YAML) several documents.

    Fields the server manages (`createdAt`, `status`, ...) are ignored, so the
    output of `mcp-adapters get -o json` can be committed as it is.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AdaptersFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    entries = _entries(path, text)
    specs: list[AdapterSpec] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        where = f"{path}: entry {index}"
        if not isinstance(entry, dict):
            raise AdaptersFileError(f"{where}: expected an object with adapter fields, got {type(entry).__name__}")
        if isinstance(entry.get("name"), str):
            where += f" ({entry['name']})"
        payload = {k: v for k, v in entry.items() if k not in SERVER_MANAGED_FIELDS}
        try:
            spec = AdapterSpec.model_validate(payload)
        except ValidationError as exc:
            raise AdaptersFileError(f"{where}: {_describe(exc)}") from exc
        if spec.name in seen:
            raise AdaptersFileError(f"{where}: adapter {spec.name!r} is already defined by entry {seen[spec.name]}")
        seen[spec.name] = index
        specs.append(spec)
    return specs


def _entries(path: Path, text: str) -> list[Any]:
    try:
        if path.suffix.lower() == ".json":
            loaded: list[Any] = [json.loads(text)]
        else:
            loaded = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise AdaptersFileError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
    entries: list[Any] = []
    for doc in loaded:
        entries.extend(doc if isinstance(doc, list) else [doc])
    return entries


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(adapter)"
        problems.append(f"field {field}: {error['msg']}")
    return "; ".join(problems)
