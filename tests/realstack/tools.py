"""Build the real Pulumi and Kubernetes programs from their Go modules, into a cache outside the checkout.

Each tool is built from a small wrapper module of ours that requires the tool's
module at a pinned version and repeats that module's `replace` lines, with
every replacement that points into the module's own repository (`../sdk`,
`./staging/src/k8s.io/api`) turned into the published module at the matching
version: the usual way to depend on k8s.io/kubernetes or pulumi/pkg, which
`go install mod@version` refuses because of those lines.

The cache is `~/.cache/mcp-adapters/tools/<name>-<version>/bin/` (or under
`MCP_ADAPTERS_TOOLS_CACHE`); a tool whose recipe did not change is not rebuilt.
Only the Go module proxy is contacted (through the `go` command).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CACHE = Path(os.environ.get("MCP_ADAPTERS_TOOLS_CACHE") or Path.home() / ".cache" / "mcp-adapters" / "tools")

PULUMI_VERSION = "v3.274.1"  # the Python SDK in uv.lock is 3.272.0; the proxy serves neither 3.272 nor 3.273 of pkg/v3
KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
# The proxy serves no tagged release of provider/v4 (tags are `provider/v4.x.y`), only this commit (January 2026).
KUBERNETES_PROVIDER_VERSION = "v4.0.0-20260115033456-f47bc2d6f199"
KUBERNETES_PROVIDER_REPORTED = "4.34.2"  # what the Python SDK in uv.lock asks for; see _kubernetes_provider_main


class BuildError(RuntimeError):
    """A tool could not be built; the message says which and why."""


def log(message: str) -> None:
    print(f"[tools] {message}", file=sys.stderr, flush=True)


def _go_env() -> dict[str, str]:
    return {
        **os.environ,
        "GOFLAGS": "-buildvcs=false -mod=mod",
        "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"),
        "CGO_ENABLED": "0",
        "GOWORK": "off",
    }


def _go(*args: str, cwd: Path) -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError("the `go` command is not on PATH: install Go 1.26 or newer to build the tools")
    completed = subprocess.run([go, *args], cwd=cwd, env=_go_env(), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-25:])
        raise BuildError(f"`go {' '.join(args)}` failed in {cwd}:\n{tail}")
    return completed.stdout


@functools.cache
def _go_version() -> str:
    return _go("env", "GOVERSION", cwd=Path.cwd()).strip()


@dataclass(frozen=True)
class GoTool:
    """One program (or several from one module) built from the Go module proxy."""

    name: str
    module: str
    version: str
    binaries: dict[str, str]  # binary name -> package to build ("." is the wrapper's own main)
    ldflags: tuple[str, ...] = ()
    # Version of the published module that replaces a `replace M => ./local/path` line of the tool's module.
    local_replacement: Callable[[str], str] | None = None
    # Writes extra files into the wrapper module (a main of our own); gets the tool module's source dir.
    prepare: Callable[[Path, Path], None] | None = None
    notes: str = ""
    extra_requires: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return CACHE / f"{self.name}-{self.version}"

    @property
    def bin(self) -> Path:
        return self.home / "bin"

    def recipe_digest(self) -> str:
        recipe = {
            "module": self.module,
            "version": self.version,
            "binaries": self.binaries,
            "ldflags": self.ldflags,
            "extra": self.extra_requires,
            "go": _go_version(),
            "revision": 1,
        }
        if self.prepare is not None:
            recipe["prepare"] = self.prepare.__name__
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()

    def is_built(self) -> bool:
        stamp = self.home / ".complete"
        if not stamp.exists() or not all((self.bin / name).exists() for name in self.binaries):
            return False
        # Without Go nothing can be rebuilt: what was built stays usable.
        return shutil.which("go") is None or stamp.read_text() == self.recipe_digest()

    def build(self) -> float:
        """Build into the cache; returns the seconds it took (0 when it was already there)."""
        if self.is_built():
            return 0.0
        started = time.monotonic()
        src = self.home / "src"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        self.bin.mkdir(parents=True, exist_ok=True)
        (self.home / ".complete").unlink(missing_ok=True)
        module_dir, go_line, replaces = self._read_module()
        self._write_wrapper(src, go_line, replaces)
        if self.prepare is not None:
            self.prepare(module_dir, src)
        _go("mod", "tidy", cwd=src)
        ldflags = " ".join(("-s", "-w", *self.ldflags))
        for binary, package in self.binaries.items():
            log(f"{self.name}: go build {package} -> {self.bin / binary}")
            _go("build", "-trimpath", "-ldflags", ldflags, "-o", str(self.bin / binary), package, cwd=src)
        (self.home / ".complete").write_text(self.recipe_digest())
        return time.monotonic() - started

    def _read_module(self) -> tuple[Path, str, list[str]]:
        scratch = self.home / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        info = json.loads(_go("mod", "download", "-json", f"{self.module}@{self.version}", cwd=scratch))
        if "Error" in info:
            raise BuildError(f"{self.module}@{self.version}: {info['Error']}")
        parsed = json.loads(_go("mod", "edit", "-json", info["GoMod"], cwd=scratch))
        replaces: list[str] = []
        for replace in parsed.get("Replace") or []:
            old, new = replace["Old"]["Path"], replace["New"]
            if new.get("Version"):
                replaces.append(f"{old}={new['Path']}@{new['Version']}")
            elif "FORBIDDEN" in new["Path"]:
                continue  # a guard against importing a module at all, not a replacement
            elif self.local_replacement is not None:
                replaces.append(f"{old}={old}@{self.local_replacement(old)}")
            else:
                raise BuildError(f"{self.module} replaces {old} with {new['Path']}: no published version for it")
        return Path(info["Dir"]), parsed["Go"], replaces

    def _write_wrapper(self, src: Path, go_line: str, replaces: list[str]) -> None:
        requires = {self.module: self.version, **self.extra_requires}
        lines = [f"module mcp-adapters.invalid/tools/{self.name}", "", f"go {go_line}", "", "require ("]
        lines += [f"\t{path} {version}" for path, version in requires.items()]
        lines += [")", ""]
        for replace in replaces:
            old, new = replace.split("=", 1)
            new_path, new_version = new.rsplit("@", 1)
            lines.append(f"replace {old} => {new_path} {new_version}")
        (src / "go.mod").write_text("\n".join(lines) + "\n")
        imports = [package for package in self.binaries.values() if package != "."]
        if imports:
            body = "\n".join(f'\t_ "{package}"' for package in imports)
            (src / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{body}\n)\n")


def _kubernetes_staging_version(module: str) -> str:
    del module  # every staging module is published as v0.<minor>.<patch> of the release
    return "v0" + KUBERNETES_VERSION.removeprefix("v1")


def _kubernetes_provider_main(module_dir: Path, src: Path) -> None:
    """The provider's main embeds a schema generated at build time: generate it the same way, in Python."""
    shipped = module_dir / "cmd" / "pulumi-resource-kubernetes"
    schema = json.loads((shipped / "schema.json").read_text())
    schema["version"] = KUBERNETES_PROVIDER_REPORTED
    (src / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
    mapping = json.loads((shipped / "terraform-mapping.json").read_text())
    (src / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))
    (src / "main.go").write_text(
        "package main\n\n"
        'import (\n\t_ "embed"\n\n'
        '\t"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"\n'
        '\t"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"\n)\n\n'
        "//go:embed schema-embed.json\nvar pulumiSchema []byte\n\n"
        "//go:embed terraform-mapping-embed.json\nvar terraformMapping []byte\n\n"
        'func main() {\n\tprovider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)\n}\n'
    )


KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat/node-heartbeat.yaml",
    "pod/general/pod-create.yaml",
    "pod/general/pod-init-container-running.yaml",
    "pod/general/pod-init-container-completed.yaml",
    "pod/general/pod-ready.yaml",
    "pod/general/pod-complete.yaml",
    "pod/general/pod-delete.yaml",
)


def kwok_stages_file() -> Path:
    return CACHE / f"kwok-{KWOK_VERSION}" / "share" / "stages.yaml"


def _kwok_stages(module_dir: Path, src: Path) -> None:
    """kwok takes its node and pod lifecycle as Stage objects: the project's own defaults, kept beside the binary."""
    del src
    stages = [(module_dir / "kustomize" / "stage" / name).read_text().strip() for name in KWOK_STAGES]
    kwok_stages_file().parent.mkdir(parents=True, exist_ok=True)
    kwok_stages_file().write_text("\n---\n".join(stages) + "\n")


_KUBE_VERSION_FLAGS = tuple(
    f"-X k8s.io/component-base/version.{name}={value}"
    for name, value in {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": "1",
        "gitMinor": KUBERNETES_VERSION.split(".")[1],
        "gitTreeState": "clean",
        "buildDate": "2026-10-27T12:01:04Z",
    }.items()
)

TOOLS: tuple[GoTool, ...] = (
    GoTool(
        name="pulumi",
        module="github.com/pulumi/pulumi/pkg/v3",
        version=PULUMI_VERSION,
        binaries={"pulumi": "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"},
        ldflags=(f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={PULUMI_VERSION}",),
        local_replacement=lambda module: PULUMI_VERSION,
    ),
    GoTool(
        name="pulumi-resource-kubernetes",
        module="github.com/pulumi/pulumi-kubernetes/provider/v4",
        version=KUBERNETES_PROVIDER_VERSION,
        binaries={"pulumi-resource-kubernetes": "."},
        ldflags=(
            "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=" + KUBERNETES_PROVIDER_REPORTED,
        ),
        # `sdk/v4 => ../sdk`: the SDK module at the version provider/v4 itself requires.
        local_replacement=lambda module: "v4.24.0",
        prepare=_kubernetes_provider_main,
    ),
    GoTool(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        version=ETCD_VERSION,
        binaries={"etcd": "go.etcd.io/etcd/server/v3"},
        local_replacement=lambda module: ETCD_VERSION,
    ),
    GoTool(
        name="kubernetes",
        module="k8s.io/kubernetes",
        version=KUBERNETES_VERSION,
        binaries={
            "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
            "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
            "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
        },
        ldflags=_KUBE_VERSION_FLAGS,
        local_replacement=_kubernetes_staging_version,
    ),
    GoTool(
        name="kwok",
        module="sigs.k8s.io/kwok",
        version=KWOK_VERSION,
        binaries={"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
        prepare=_kwok_stages,
    ),
)


def bin_dirs() -> list[Path]:
    return [tool.bin for tool in TOOLS]


def missing() -> list[GoTool]:
    return [tool for tool in TOOLS if not tool.is_built()]


def build_all(names: list[str] | None = None) -> dict[str, float]:
    """Build every tool (or the named ones) that is not in the cache yet; returns seconds per tool."""
    timings: dict[str, float] = {}
    failures: list[str] = []
    for tool in TOOLS:
        if names and tool.name not in names:
            continue
        if tool.is_built():
            log(f"{tool.name} {tool.version}: cached in {tool.bin}")
            timings[tool.name] = 0.0
            continue
        log(f"{tool.name} {tool.version}: building from {tool.module} ...")
        try:
            timings[tool.name] = tool.build()
        except BuildError as error:
            log(f"{tool.name}: FAILED\n{error}")
            failures.append(tool.name)
            continue
        log(f"{tool.name} {tool.version}: built in {timings[tool.name]:.0f} s")
    if failures:
        raise BuildError(f"could not build: {', '.join(failures)} (the errors are above)")
    return timings
