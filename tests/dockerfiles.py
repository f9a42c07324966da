"""Reading a Dockerfile without a container engine, for the static checks of our two images."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT


@dataclass
class Instruction:
    keyword: str
    value: str
    stage: int


def parse(path: Path) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped; `stage` counts FROMs."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, value.strip(), stage))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


def final(instructions: list[Instruction], keyword: str) -> list[str]:
    """The values of `keyword` in the last stage (the image that ships)."""
    last = instructions[-1].stage
    return [i.value for i in instructions if i.keyword == keyword and i.stage == last]


def build_args(instructions: list[Instruction]) -> dict[str, str]:
    return dict(i.value.split("=", 1) for i in instructions if i.keyword == "ARG" and "=" in i.value)


def final_env(instructions: list[Instruction]) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(" ".join(final(instructions, "ENV"))) if "=" in part)


def sources_missing_from_context(instructions: list[Instruction], dockerignore: Path) -> list[str]:
    """COPY sources (relative to the repository root, the build context) that do not exist or are ignored.

    The ignore files exclude everything and re-include what the image needs (`!path`, `!path/**`).
    """
    ignore = dockerignore.read_text()
    missing = []
    for copy in (i.value for i in instructions if i.keyword == "COPY" and "--from=" not in i.value):
        *sources, _ = copy.split()
        missing += [
            s for s in sources if not (ROOT / s).exists() or (f"!{s}" not in ignore and f"!{s}/**" not in ignore)
        ]
    return missing
