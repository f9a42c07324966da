"""Provider plugins installed ahead of time (the image bakes them in), used in place of a download at start.

`pulumi plugin install` lays a plugin out as `<PULUMI_HOME>/plugins/resource-<name>-v<version>/` (a `.partial`
sibling marks one still being written), and the engine finds plugins only there (`workspace.GetPluginDir`).
PULUMI_HOME must stay writable (stack selection, plugin locks), so a read-only bundle cannot be PULUMI_HOME
itself. Nor can a plugin directory be a symlink: the engine lists plugins with `os.ReadDir` and skips entries
that are not directories. So each bundled plugin gets a real directory in PULUMI_HOME whose files link to the
bundle's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mcp_adapters.settings import Settings


def plugin_dir_name(name: str, version: str) -> str:
    return f"resource-{name}-v{version}"


def pulumi_home(settings: Settings) -> Path:
    """The PULUMI_HOME the CLI runs with: the setting, else the service's environment, else the CLI's default."""
    if settings.pulumi_home is not None:
        return settings.pulumi_home
    return Path(os.environ.get("PULUMI_HOME") or Path.home() / ".pulumi")


def link_bundled(bundle: Path, home: Path, name: str, version: str) -> bool:
    """Install the bundle's copy of a plugin into `home` by linking its files; False when the bundle lacks it."""
    source = bundle / plugin_dir_name(name, version)
    if not source.is_dir() or source.with_name(source.name + ".partial").exists():
        return False
    target = home / "plugins" / source.name
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        link = target / entry.name
        if link.is_symlink() and link.readlink() == entry:
            continue
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        else:
            link.unlink(missing_ok=True)
        link.symlink_to(entry)
    target.with_name(target.name + ".partial").unlink(missing_ok=True)  # an earlier download cut short
    return True
