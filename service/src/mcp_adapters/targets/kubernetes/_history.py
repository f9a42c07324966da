"""A file:// backend kept bounded: each stack's update history pruned to its newest entries after an operation.

Every update, refresh and destroy makes the DIY backend write `<stack>-<unix nanos>.history.json` and a
`.checkpoint.json` copy of the whole state (`.gz`/`.zst` when compressed) under
`.pulumi/history/<project>/<stack>/`, and a copy of the state as `<stack>.<unix nanos>.json` under
`.pulumi/backups/<project>/<stack>/` (`history/<stack>/` and `backups/<stack>/` in the legacy layout, whose
`meta.yaml` is missing or says version 0), each with a `.attrs` file beside it. The service re-applies every
stack hourly, so without pruning both grow for ever. (The service turns backups off,
PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS; older ones are pruned alike.) Bucket backends (azblob://, s3://,
gs://) keep the same files: a lifecycle rule on the `.pulumi/history/` and `.pulumi/backups/` prefixes bounds
them there.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

# gocloud's fileblob (the file:// bucket) keeps each object's metadata in a `<name>.attrs` file beside it.
_HISTORY = re.compile(r"^(?P<stack>.+)-(?P<at>\d+)\.(?:history|checkpoint)\.json(?:\.gz|\.zst)?(?:\.attrs)?$")
_BACKUP = re.compile(r"^(?P<stack>.+)\.(?P<at>\d+)\.json(?:\.gz|\.zst)?(?:\.attrs)?$")


def prune(backend: Path, project: str, stack: str, keep: int) -> int:
    """Remove all but the newest `keep` history entries (each with its checkpoint copy) and backups of `stack`;
    returns how many files were removed."""
    meta = backend / ".pulumi"
    scope = (project, stack) if _project_layout(meta) else (stack,)
    removed = _prune(meta.joinpath("history", *scope), _HISTORY, stack, keep)
    return removed + _prune(meta.joinpath("backups", *scope), _BACKUP, stack, keep)


def _project_layout(meta: Path) -> bool:
    try:
        data = yaml.safe_load((meta / "meta.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and int(data.get("version") or 0) >= 1


def _prune(directory: Path, pattern: re.Pattern[str], stack: str, keep: int) -> int:
    if not directory.is_dir():
        return 0
    entries: dict[int, list[Path]] = {}
    for path in directory.iterdir():
        match = pattern.match(path.name)
        if match is not None and match["stack"] == stack:
            entries.setdefault(int(match["at"]), []).append(path)
    removed = 0
    for at in sorted(entries, reverse=True)[keep:]:
        for path in entries[at]:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
