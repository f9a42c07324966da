"""Which Python runs a project: its `runtime.options`, resolved the way the real host's pip and uv toolchains do.

The real host (sdk/python/toolchain) runs the virtualenv's `bin/python` directly, never through `uv run`;
`virtualenv` is relative to the project root (the directory of Pulumi.yaml or PulumiPolicy.yaml). Without it, uv
puts the environment next to the nearest `uv.lock` (else `pyproject.toml`) above the program directory, or at
`UV_PROJECT_ENVIRONMENT`, and pip uses whichever `python3` is on PATH. Unlike the real host we never create,
sync or install into the environment: `uv sync --all-packages` at the repository root owns it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class HostError(Exception):
    """The request cannot be served; the message is what the engine shows the user."""


def _search_up(start: Path, name: str) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / name).exists():
            return directory
    return None


def _string_option(options: Mapping[str, object], key: str) -> str:
    value = options.get(key, "")
    if not isinstance(value, str):
        raise HostError(f"{key} option must be a string")
    return value


@dataclass(frozen=True)
class PythonEnv:
    """The interpreter of one project or plugin, and the directory the real host would start it in."""

    virtualenv: Path | None  # None: the ambient `python3` on PATH (pip toolchain without `virtualenv`)
    cwd: Path | None  # None: inherit ours, as the real pip toolchain does

    @classmethod
    def resolve(cls, root: str, program_dir: str, options: Mapping[str, object], *, plugin: bool = False) -> PythonEnv:
        if _string_option(options, "typechecker"):
            raise HostError("the `typechecker` option is not supported by this stand-in language host")
        virtualenv = _string_option(options, "virtualenv")
        toolchain = _string_option(options, "toolchain") or _detect_toolchain(Path(program_dir))
        if toolchain == "uv":
            return cls(_uv_virtualenv(Path(root), Path(program_dir), virtualenv), Path(program_dir))
        if toolchain != "pip":
            raise HostError(f"toolchain {toolchain!r} is not supported by this stand-in language host (pip, uv)")
        if plugin and not virtualenv:
            virtualenv = "venv"  # the real host never runs a plugin with the ambient Python
        return cls(Path(root, virtualenv) if virtualenv else None, None)

    @property
    def python(self) -> str:
        if self.virtualenv is not None:
            return str(self.virtualenv / "bin" / "python")
        found = shutil.which("python3") or shutil.which("python")
        if found is None:
            raise HostError("no `python3` or `python` on PATH and no `virtualenv` option in the project")
        return found

    def validate(self) -> None:
        if self.virtualenv is not None and not (self.virtualenv / "bin" / "python").exists():
            raise HostError(f"'{self.virtualenv}' is not a virtualenv (run `uv sync --all-packages`)")

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` with the virtualenv activated: its bin first on PATH, VIRTUAL_ENV set, PYTHONHOME unset."""
        env = {key: value for key, value in base.items() if key not in ("PYTHONHOME", "VIRTUAL_ENV")}
        if self.virtualenv is not None:
            env["PATH"] = os.pathsep.join(filter(None, [str(self.virtualenv / "bin"), base.get("PATH", "")]))
            env["VIRTUAL_ENV"] = str(self.virtualenv)
        return env

    def site_packages(self) -> list[Path]:
        if self.virtualenv is None:
            return []
        return sorted(self.virtualenv.glob("lib/python*/site-packages"))


def _detect_toolchain(program_dir: Path) -> str:
    if _search_up(program_dir, "uv.lock") is not None:
        return "uv"
    if _search_up(program_dir, "poetry.lock") is not None:
        return "poetry"
    return "pip"


def _uv_virtualenv(root: Path, program_dir: Path, virtualenv: str) -> Path:
    if virtualenv:
        return root / virtualenv
    project_dir = _search_up(program_dir, "uv.lock") or _search_up(program_dir, "pyproject.toml") or program_dir
    return project_dir / os.environ.get("UV_PROJECT_ENVIRONMENT", ".venv")
