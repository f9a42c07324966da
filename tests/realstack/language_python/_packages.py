"""What a Python environment holds: its distributions, and the Pulumi plugins their `pulumi-plugin.json` files ask for.

The real host asks the toolchain for the project's locked dependencies (`uv export --package <project> --locked`,
`pip list`) and keeps the Pulumi ones; we read the distributions installed in the virtualenv instead, which for a
`uv sync`ed environment is the same set or a superset (every workspace member's dependencies).
"""

from __future__ import annotations

import base64
import json
import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# Pulumi packages known to have no plugin, hyphen and underscore spellings, as the real host lists them.
_WITHOUT_PLUGIN = frozenset({"pulumi-policy", "pulumi_policy", "pulumi-esc-sdk", "pulumi_esc_sdk"})
_PEP440 = re.compile(
    r"(?P<release>\d+(?:\.\d+)*)(?:(?P<pre>a|b|rc)(?P<pre_n>\d*))?(?:\.post(?P<post>\d*))?(?:\.dev(?P<dev>\d*))?"
)
_PRE_NAMES = {"a": "alpha", "b": "beta", "rc": "rc"}


@dataclass(frozen=True)
class Package:
    name: str  # normalised (PEP 503)
    version: str
    location: Path  # the site-packages directory


@dataclass(frozen=True)
class Parameterization:
    name: str
    version: str
    value: bytes  # base64 in pulumi-plugin.json


@dataclass(frozen=True)
class PluginDependency:
    name: str
    version: str  # "v1.2.3"
    server: str
    parameterization: Parameterization | None


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(site_packages: list[Path]) -> list[Package]:
    found: dict[str, Package] = {}
    for dist in metadata.distributions(path=[str(path) for path in site_packages]):
        name = dist.metadata["Name"]
        location = Path(str(dist.locate_file("")))
        if name and normalise(name) not in found:
            found[normalise(name)] = Package(normalise(name), dist.version, location)
    return sorted(found.values(), key=lambda package: package.name)


def direct_dependency_names(project_dir: Path) -> set[str] | None:
    """The `[project].dependencies` of the nearest pyproject.toml, or None when there is none to read."""
    for directory in (project_dir, *project_dir.parents):
        pyproject = directory / "pyproject.toml"
        if pyproject.exists():
            project = tomllib.loads(pyproject.read_text()).get("project")
            if not isinstance(project, dict):
                return None
            requirements = project.get("dependencies", [])
            return {normalise(re.split(r"[\s\[<>=!~;@(]", str(req), maxsplit=1)[0]) for req in requirements}
    return None


def plugin_version(package_version: str) -> str | None:
    """A PEP 440 version as the plugin's semver (1.2.3a4 -> 1.2.3-alpha.4), or None when it has no translation."""
    match = _PEP440.fullmatch(package_version)
    if match is None:
        return None
    segments = match["release"].split(".")
    segments += ["0"] * (3 - len(segments))
    version = ".".join(segments)
    if match["pre"]:
        version += f"-{_PRE_NAMES[match['pre']]}.{match['pre_n']}"
    if match["post"] is not None:
        version += f"+post{match['post']}"
    if match["dev"] is not None:
        version += ("" if match["post"] is not None else "+") + f"dev{match['dev']}"
    return version


def _plugin_json(package: Package) -> dict[str, object] | None:
    path = package.location / package.name.replace("-", "_") / "pulumi-plugin.json"
    if not path.exists():
        return None
    loaded = json.loads(path.read_text())
    return loaded if isinstance(loaded, dict) else None


def required_plugins(packages: list[Package]) -> list[PluginDependency]:
    """The resource plugins of the Pulumi packages among `packages`, as the real host derives them."""
    plugins = []
    for package in packages:
        spec = _plugin_json(package)
        if spec is None and not package.name.startswith("pulumi-"):
            continue
        if package.name in _WITHOUT_PLUGIN or (spec is not None and not spec.get("resource")):
            continue
        spec = spec or {}
        version = str(spec.get("version") or "") or plugin_version(package.version)
        if version is None:
            continue  # the real host skips a version it cannot translate, too
        plugins.append(
            PluginDependency(
                name=str(spec.get("name") or package.name.removeprefix("pulumi-")),
                version=version if version.startswith("v") else f"v{version}",
                server=str(spec.get("server") or ""),
                parameterization=_parameterization(spec.get("parameterization")),
            )
        )
    return plugins


def _parameterization(spec: object) -> Parameterization | None:
    if not isinstance(spec, dict):
        return None
    value = base64.b64decode(str(spec.get("value") or ""))
    return Parameterization(str(spec.get("name") or ""), str(spec.get("version") or ""), value)
