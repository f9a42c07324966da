"""Pruning a file:// backend laid out as the DIY backend lays it out (pkg/backend/diy: store.go, state.go), as
seen in a real 3.274 CLI's backend: every object with a gocloud `.attrs` file beside it."""

from __future__ import annotations

from pathlib import Path

from mcp_adapters.targets.kubernetes._history import prune

BASE = 1_733_000_000_000_000_000  # Unix nanoseconds, as `time.Now().UnixNano()` names the files


def write(path: Path) -> None:
    """An object as gocloud's fileblob stores it: the file, and its metadata in `<name>.attrs`."""
    path.write_text("{}")
    path.with_name(path.name + ".attrs").write_text('{"user.cache_control":"","user.content_type":"application/json"}')


def populate(meta: Path, scope: tuple[str, ...], stack: str, updates: int, ext: str = "json") -> None:
    history, backups = meta.joinpath("history", *scope), meta.joinpath("backups", *scope)
    history.mkdir(parents=True, exist_ok=True)
    backups.mkdir(parents=True, exist_ok=True)
    for update in range(updates):
        at = BASE + update * 3_600_000_000_000  # hourly re-applies
        write(history / f"{stack}-{at}.history.{ext}")
        write(history / f"{stack}-{at}.checkpoint.{ext}")
        write(backups / f"{stack}.{at}.{ext}")


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_only_the_newest_entries_of_the_stack_are_kept(tmp_path: Path) -> None:
    meta = tmp_path / ".pulumi"
    meta.mkdir()
    (meta / "meta.yaml").write_text("version: 1\n")
    populate(meta, ("mcp-adapter", "github"), "github", 30)
    populate(meta, ("mcp-adapter", "github"), "github", 2, ext="json.gz")  # written while DIY_BACKEND_GZIP was on
    populate(meta, ("mcp-adapter", "other"), "other", 30)
    stack_file = meta / "stacks" / "mcp-adapter" / "github.json"
    stack_file.parent.mkdir(parents=True)
    stack_file.write_text("{}")
    stack_file.with_name("github.json.bak").write_text("{}")

    removed = prune(tmp_path, "mcp-adapter", "github", keep=5)

    history = meta / "history" / "mcp-adapter" / "github"
    newest = [BASE + update * 3_600_000_000_000 for update in range(25, 30)]
    kept = [f"github-{at}.{kind}.json" for at in newest for kind in ("checkpoint", "history")]
    assert names(history) == sorted(kept + [name + ".attrs" for name in kept])
    backups = [f"github.{at}.json" for at in newest]
    assert names(meta / "backups" / "mcp-adapter" / "github") == sorted(backups + [name + ".attrs" for name in backups])
    assert removed == ((30 - 5) * 3 + 2 * 3) * 2
    assert len(names(meta / "history" / "mcp-adapter" / "other")) == 120, "other stacks are theirs to prune"
    assert names(stack_file.parent) == ["github.json", "github.json.bak"]


def test_the_legacy_layout_is_pruned_too(tmp_path: Path) -> None:
    meta = tmp_path / ".pulumi"  # no meta.yaml: a bucket from before project-scoped stacks
    populate(meta, ("github",), "github", 4)
    prune(tmp_path, "mcp-adapter", "github", keep=1)
    assert len(names(meta / "history" / "github")) == 4
    assert len(names(meta / "backups" / "github")) == 2


def test_a_stack_without_history_is_nothing_to_prune(tmp_path: Path) -> None:
    assert prune(tmp_path, "mcp-adapter", "github", keep=3) == 0
