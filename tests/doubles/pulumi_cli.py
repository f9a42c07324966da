"""`FakePulumiCommand`: a test double of the Pulumi CLI for the Automation API, over a DIY `file://` backend.

Pass it as `LocalWorkspaceOptions(pulumi_command=FakePulumiCommand())`; no binary is ever run. It answers the
argument lists the installed SDK (pulumi 3.272) builds, the way the 3.272 CLI and its DIY backend answer them:

* State lives on disk in the DIY layout (`<root>/.pulumi/meta.yaml`, `stacks/<project>/<stack>.json` with its
  `.bak`, `locks/organization/<project>/<stack>/<uuid>.json`, `history/<project>/<stack>/<stack>-<ns>.history.json`
  with a `.checkpoint.json` copy, `backups/...`, `stacks/<project>/<stack>.pulumi-tags`), so a second instance over
  the same directory (a restarted service) sees the stacks, the checkpoints, the history and any lock left behind.
  Stack config is the workspace's `Pulumi.<stack>.yaml` in `cwd`, with an `encryptionsalt` for the passphrase
  secrets provider, as the CLI writes it; the passphrase (`PULUMI_CONFIG_PASSPHRASE[_FILE]`) is required and checked.
  `stack init` records the secrets manager in the checkpoint (`latest` with a manifest, `secrets_providers` and no
  resources), as the 3.27x CLI does. A stack file that names no secrets manager (a fresh `cwd`, or one only plaintext
  `config set` wrote) gets the one the checkpoint records when `PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER` is true,
  written back to the file; otherwise it means a new passphrase manager with a new salt, as the CLI's
  `SecretsManagerLoader` does. Stack names are validated as `tokens.ParseStackName` does (at most 100 characters
  of `[A-Za-z0-9_.-]`).
* Errors are exit code 255 with the CLI's own `error: ...` texts, so `create_command_error` yields the same
  `StackNotFoundError`, `StackAlreadyExistsError`, `ConcurrentUpdateError` (the DIY lock message, with its
  `file://...json?no_tmp_dir=true: created by user@host (pid N) at <RFC3339>` lines, as the 3.274 CLI prints them)
  and `InlineSourceRuntimeError` as with the CLI.
* `up`/`preview`/`refresh`/`destroy` of an inline program really run it, in this process: the double serves a
  ResourceMonitor (over `pulumi.runtime.mocks.MockMonitor` and the given `Mocks`, `tests/infra/pulumi_mocks.Recorder`
  by default) and an Engine over gRPC and calls `LanguageRuntime.Run` on the SDK's `--client` server with the
  `RunRequest` the engine sends (project, stack, pwd, program, engine address, config and secret keys, dryRun,
  parallel, monitor address, organization). URNs are the engine's (the root stack type is not a parent type).
  Steps are the engine's for a program without replacements: `create`, `update` (inputs differ, id kept), `same`
  (old id and outputs returned to the program), `delete` (no longer registered; only when the program succeeded),
  `read`; default providers are created in the checkpoint but neither reported nor counted, as the engine does.
  Each non-preview operation writes a history entry and, unless `PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS`
  (or `PULUMI_DISABLE_CHECKPOINT_BACKUPS`) is true, a backup, as the DIY backend's `apply` does.
  `destroy` deletes everything; `refresh` reports `refresh` steps and counts them `same` (there is no drift), drops
  non-create pending operations and, with `--clear-pending-creates`, the pending creates.
* Engine events as the 3.272 CLI emits them: above 3.205 streamed to the SDK's `tcp://` `Events` gRPC server,
  at or below it appended to the `--event-log` file; `preludeEvent`, `resourcePreEvent`/`resOutputsEvent` per step,
  `diagnosticEvent` (program log output, warnings, errors), `summaryEvent` (with the engine's `PolicyPacks` spelling)
  and a final `cancelEvent`. `preview --json` prints a preview digest; the others print the CLI's progress-style
  summary (`Updating (S):` ... `Diagnostics:` ... `Resources:` ... `Duration:`).
* Locking as the DIY backend does it: `up`, `refresh`, `destroy` (also with `--preview-only`), `stack init`,
  `stack rm` and `stack import` take the stack lock, `preview` does not; `cancel` deletes every lock file of the
  stack and succeeds even when there is none (the DIY `CancelCurrentUpdate` ignores a missing lock, so
  `pulumi cancel` prints "... has been canceled!"); an operation whose lock was deleted under it finishes and then
  prints the DIY "there was a problem deleting the lock" error, exit code unchanged.
* Pending operations as the 3.272 engine treats them: `up` does NOT fail on them. It warns
  ("Attempting to deploy or update resources with N pending operations from previous deployment. ...") and goes
  on, keeping the pending creates in the new checkpoint; only `refresh --clear-pending-creates` (or a `stack import`
  of a deployment without them) removes those. (The "the current deployment has N resource(s) with pending
  operations ... refusing to proceed" error is what 2.x CLIs printed.)

What it does not do: no providers (custom resources' outputs come from the mocks; components are not passed to
them, as the engine does not call a provider for a component; nothing is read back, so a refresh never finds
drift), no replacements, no `--target`/`--replace`/`--exclude`/`--plan` (they fail loudly), no policy packs (a
`--policy-pack` flag is only recorded in the call), secrets are base64 rather than encrypted and plaintext in the
checkpoint, stack selection ("current") and installed plugins are kept in memory rather than in `PULUMI_HOME`, and
a scripted failure happens before any step is applied. A killed CLI (`crash_during`, `Gate.kill`) dies while its
first provider operation is in flight: what the engine had done without a provider (the stack resource,
components, default providers) is in the checkpoint, the operation in flight is a pending `creating`/`updating`/
`deleting` operation, the lock file stays (naming a pid that no longer runs) and no history is written. Any command
or flag it does not know raises `AssertionError` naming the arguments, so a test notices calls nobody expected.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import copy
import getpass
import hashlib
import itertools
import json
import os
import queue
import re
import secrets as _secrets
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import grpc
import pulumi
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.automation import CommandResult, PulumiCommand
from pulumi.automation.errors import create_command_error
from pulumi.runtime import rpc
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, _resolve_callbacks
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    language_pb2,
    language_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
)
from pulumi.runtime.sync_await import _sync_await
from semver import VersionInfo

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # the property-value signature key
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"  # its value for a secret
STACK_TYPE = "pulumi:pulumi:Stack"
SECRET_SENTINEL = "[secret]"
ENGINE_COMMANDS = frozenset({"up", "preview", "refresh", "destroy"})
LOCKING_COMMANDS = frozenset({"up", "refresh", "destroy", "stack init", "stack rm", "stack import"})
ORGANIZATION = "organization"  # what a DIY backend calls every stack's organization
_HISTORY_PAGE_SIZE = 10  # `pulumi stack history` default --page-size

# The subcommand words the CLI knows (of those the SDK uses); `CliCall.command` walks this tree.
_TREE: dict[str, Any] = {
    "stack": {
        **{key: {} for key in ("select", "init", "rm", "ls", "history", "output", "export", "import")},
        "tag": {key: {} for key in ("set", "get", "rm", "ls")},
    },
    "config": {key: {} for key in ("set", "set-all", "get", "rm", "rm-all", "refresh")},
    "plugin": {key: {} for key in ("install", "ls", "rm")},
    **{key: {} for key in ("up", "preview", "refresh", "destroy", "cancel", "whoami", "version")},
}
_BOOL_FLAGS = frozenset(
    {
        "--non-interactive", "--yes", "--skip-preview", "--diff", "--target-dependents", "--exclude-dependents",
        "--logflow", "--logtostderr", "--debug", "--suppress-outputs", "--suppress-progress", "--continue-on-error",
        "--attach-debugger", "--refresh", "--run-program", "--json", "--preview-only", "--clear-pending-creates",
        "--skip-pending-creates", "--exclude-protected", "--show-secrets", "--force", "--preserve-config",
        "--remove-backups", "--no-select", "--all", "--path", "--plaintext", "--secret", "--emoji",
        "--disable-integrity-checking", "--fully-qualify-stack-names", "--expect-no-changes",
    }
)  # fmt: skip
_VALUE_FLAGS = frozenset(
    {
        "--stack", "--color", "--message", "--replace", "--target", "--exclude", "--policy-pack",
        "--policy-pack-config", "--parallel", "--verbose", "--tracing", "--tracing-header", "--profiling",
        "--memprofilerate", "--otel-traces", "--config-file", "--plan", "--save-plan", "--import-file", "--client",
        "--exec-kind", "--exec-agent", "--event-log", "--secrets-provider", "--page-size", "--page", "--file",
        "--server", "--import-pending-creates",
    }
)  # fmt: skip
# Flags whose meaning the double does not model: accepting them silently would make a test pass for nothing.
_UNMODELLED = ("--target", "--replace", "--exclude", "--plan", "--save-plan", "--import-file")
_COMMAND_VALUE_FLAGS = {"config set-all": frozenset({"--plaintext", "--secret", "--json"})}
_OP_PENDING = {"create": "creating", "update": "updating", "delete": "deleting"}
_LOG_SEVERITY = {engine_pb2.DEBUG: "debug", engine_pb2.INFO: "info", engine_pb2.WARNING: "warning"}


def command_of(args: tuple[str, ...] | list[str]) -> str:
    """The subcommand words of a CLI argument list: `stack select`, `config set-all`, `up`, ..."""
    words: list[str] = []
    node = _TREE
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("-"):
            if words:
                break
            continue
        if arg not in node:
            if not words:
                words.append(arg)  # unknown command: named as given
            break
        words.append(arg)
        node = node[arg]
    return " ".join(words)


@dataclass(frozen=True)
class CliCall:
    """One `PulumiCommand.run`: the arguments as the CLI would get them, its working directory and environment."""

    args: tuple[str, ...]
    cwd: str
    env: dict[str, str] = field(repr=False)

    @property
    def command(self) -> str:
        return command_of(self.args)

    def flag(self, name: str) -> str | None:
        """The (last) value of a `--name value` or `--name=value` flag, `None` when absent."""
        value = None
        for index, arg in enumerate(self.args):
            if arg == "--":
                break
            if arg == name and index + 1 < len(self.args):
                value = self.args[index + 1]
            elif arg.startswith(name + "="):
                value = arg.split("=", 1)[1]
        return value


class Gate:
    """Holds the next operation of a command after it took its lock (see `FakePulumiCommand.hold`).

    `started` is set once the operation is blocked; then `release()` lets it finish normally, `interrupt()` makes it
    end as a CLI that got SIGINT/SIGTERM does (the engine cancels: "update canceled", failed history entry, lock
    removed, exit 255), and `kill()` as a CLI that got SIGKILL (lock and a pending operation left, exit -9).
    Like a `threading.Event`, `set()` releases and `is_set()` tells whether the gate was opened.
    """

    def __init__(self, timeout: float = 60.0) -> None:
        self.started = threading.Event()
        self._opened = threading.Event()
        self.outcome = "release"
        self.timeout = timeout  # a held operation nobody opens fails after this long rather than hang the suite

    def wait_started(self, timeout: float | None = 10.0) -> bool:
        return self.started.wait(timeout)

    def release(self) -> None:
        self._open("release")

    def interrupt(self) -> None:
        self._open("interrupt")

    def kill(self) -> None:
        self._open("kill")

    def set(self) -> None:
        self.release()

    def is_set(self) -> bool:
        return self._opened.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._opened.wait(timeout)

    def _open(self, outcome: str) -> None:
        self.outcome = outcome
        self._opened.set()


class _Exit(Exception):
    """Ends an invocation with an exit code; `stderr` is printed first (the CLI's `error: ...` line)."""

    def __init__(self, code: int = 255, stderr: str | None = None) -> None:
        super().__init__(stderr)
        self.code = code
        self.stderr = stderr


class _EngineError(Exception):
    """An error the engine reports for the program (a diagnostic and a failed update), not a bug of the double."""


def _fail(message: str) -> _Exit:
    return _Exit(255, f"error: {message}")


class _Output:
    """stdout/stderr of one invocation, streamed line by line through the callbacks as the real `run` does."""

    def __init__(self, on_output: Callable[[str], Any] | None, on_error: Callable[[str], Any] | None) -> None:
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._on_output = on_output
        self._on_error = on_error

    def out(self, text: str = "") -> None:
        self._emit(text, self.stdout, self._on_output)

    def err(self, text: str) -> None:
        self._emit(text, self.stderr, self._on_error)

    @staticmethod
    def _emit(text: str, sink: list[str], callback: Callable[[str], Any] | None) -> None:
        for line in text.split("\n"):
            stripped = line.rstrip()
            if callback:
                callback(stripped)
            sink.append(stripped)


@dataclass
class _Invocation:
    args: list[str]
    cwd: str
    env: dict[str, str]
    command: str
    positional: list[str]
    flags: dict[str, list[str]]
    out: _Output

    def value(self, name: str) -> str | None:
        values = self.flags.get(name)
        return values[-1] if values else None

    def values(self, name: str) -> list[str]:
        return self.flags.get(name, [])

    def has(self, name: str) -> bool:
        value = self.value(name)
        return value is not None and value.lower() not in ("false", "0")


def _parse(args: list[str], command: str) -> tuple[list[str], dict[str, list[str]]]:
    words = args[:]
    for word in command.split():
        words.remove(word)
    valued = _VALUE_FLAGS | _COMMAND_VALUE_FLAGS.get(command, frozenset())
    boolean = _BOOL_FLAGS - valued
    positional: list[str] = []
    flags: dict[str, list[str]] = {}
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            positional.extend(words[index + 1 :])
            break
        if word.startswith("-") and len(word) > 1:
            name, eq, value = word.partition("=")
            if name in valued:
                if not eq:
                    index += 1
                    if index >= len(words):
                        raise AssertionError(f"FakePulumiCommand: flag {name} without a value in {args}")
                    value = words[index]
            elif name in boolean:
                value = value if eq else "true"
            else:
                raise AssertionError(f"FakePulumiCommand: unexpected flag {word!r} in pulumi {' '.join(args)}")
            flags.setdefault(name, []).append(value)
        else:
            positional.append(word)
        index += 1
    return positional, flags


# --- values: the wire (protobuf Struct as JSON), the checkpoint, and plain Python -----------------------------------


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_MARK


def _ints(value: Any) -> Any:
    """Integral floats as ints: a Struct only has doubles, the engine's JSON prints 1 rather than 1.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def _wire_to_state(value: Any) -> Any:
    """A wire value as the checkpoint keeps it: secrets as `{sig, plaintext: <JSON>}` (what `export` shows)."""
    if _is_secret(value) and "value" in value:
        return {SECRET_SIG: SECRET_MARK, "plaintext": json.dumps(_wire_to_state(value["value"]))}
    if isinstance(value, dict):
        return {k: _wire_to_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire_to_state(v) for v in value]
    return _ints(value)


def _state_to_wire(value: Any) -> Any:
    if _is_secret(value) and "plaintext" in value:
        return {SECRET_SIG: SECRET_MARK, "value": _state_to_wire(json.loads(value["plaintext"]))}
    if isinstance(value, dict):
        return {k: _state_to_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_state_to_wire(v) for v in value]
    return value


def _plain(value: Any, show_secrets: bool = True) -> Any:
    """A checkpoint value as plain data; secrets unwrapped, or `[secret]` when they are not to be shown."""
    if _is_secret(value):
        if not show_secrets:
            return SECRET_SENTINEL
        if "plaintext" in value:
            return _plain(json.loads(value["plaintext"]), show_secrets)
        return _plain(value.get("value"), show_secrets)
    if isinstance(value, dict):
        return {k: _plain(v, show_secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, show_secrets) for v in value]
    return value


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(dict(value), struct_pb2.Struct())


def _from_struct(message: struct_pb2.Struct | None) -> dict[str, Any]:
    return _wire_to_state(json_format.MessageToDict(message)) if message is not None else {}


def _in_fresh_loop(call: Callable[[], Any]) -> Any:
    """Run a MockMonitor method in a gRPC worker thread: it needs an event loop, which is closed afterwards."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return call()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


# --- time -----------------------------------------------------------------------------------------------------------


def _cli_time(seconds: float) -> str:
    """The CLI's JSON time format (`2006-01-02T15:04:05.000Z07:00` in UTC), which the SDK's `_DATETIME_FORMAT` reads."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(seconds * 1000) % 1000:03d}Z"


def _go_time(moment: datetime | None = None) -> str:
    """A Go `time.Time` as JSON (RFC 3339 with fraction, local offset)."""
    return (moment or datetime.now()).astimezone().isoformat()


def _parse_go_time(text: str) -> datetime:
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


def _rfc3339(text: str) -> str:
    """Go's `time.RFC3339` of a lock timestamp: seconds, `Z` for UTC."""
    moment = _parse_go_time(text).replace(microsecond=0)
    rendered = moment.isoformat()
    return rendered[:-6] + "Z" if rendered.endswith("+00:00") else rendered


# --- config files ----------------------------------------------------------------------------------------------------

_PATH_TOKEN = re.compile(r'\[(\d+)\]|\["([^"]*)"\]|\.?([^.\[\]]+)')


def _config_path(key: str, path: bool) -> list[str | int]:
    if not path:
        return [key]
    parts: list[str | int] = []
    for match in _PATH_TOKEN.finditer(key):
        index, quoted, name = match.groups()
        parts.append(int(index) if index is not None else (quoted if quoted is not None else name))
    return parts


def _full_key(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _encrypt(value: str) -> dict[str, str]:
    return {"secure": "v1:" + base64.b64encode(value.encode()).decode()}


def _decrypt(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return base64.b64decode(value["secure"].removeprefix("v1:")).decode()
    if isinstance(value, dict):
        return {k: _decrypt(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decrypt(v) for v in value]
    return value


def _has_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return False


def _blind(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET_SENTINEL
    if isinstance(value, dict):
        return {k: _blind(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blind(v) for v in value]
    return value


def _config_text(value: Any) -> str:
    """A config value as the engine hands it to a program: strings as they are, objects as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


# --- the DIY backend on disk -----------------------------------------------------------------------------------------


def _write_json(path: Path, data: Any, indent: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_text(json.dumps(data, indent=indent) + ("\n" if indent else ""))
    temporary.replace(path)


class _Backend:
    """The `file://` state store: paths and reads/writes in the layout the DIY backend (project mode) uses."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"file://{root}"
        self.meta = root / ".pulumi"
        if not (self.meta / "meta.yaml").exists():
            (self.meta).mkdir(parents=True, exist_ok=True)
            (self.meta / "meta.yaml").write_text("version: 1\n")

    def stack_path(self, project: str, stack: str) -> Path:
        return self.meta / "stacks" / project / f"{stack}.json"

    def tags_path(self, project: str, stack: str) -> Path:
        return self.meta / "stacks" / project / f"{stack}.pulumi-tags"

    def lock_dir(self, project: str, stack: str) -> Path:
        return self.meta / "locks" / ORGANIZATION / project / stack

    def history_dir(self, project: str, stack: str) -> Path:
        return self.meta / "history" / project / stack

    def backup_dir(self, project: str, stack: str) -> Path:
        return self.meta / "backups" / project / stack

    def exists(self, project: str, stack: str) -> bool:
        return self.stack_path(project, stack).exists()

    def stacks(self, project: str | None = None) -> list[tuple[str, str]]:
        base = self.meta / "stacks"
        projects = [base / project] if project else sorted(p for p in base.glob("*") if p.is_dir())
        return [(p.name, f.name[: -len(".json")]) for p in projects if p.is_dir() for f in sorted(p.glob("*.json"))]

    def checkpoint(self, project: str, stack: str) -> dict[str, Any]:
        return json.loads(self.stack_path(project, stack).read_text())  # type: ignore[no-any-return]

    def latest(self, project: str, stack: str) -> dict[str, Any] | None:
        return self.checkpoint(project, stack)["checkpoint"].get("latest")  # type: ignore[no-any-return]

    def save(self, project: str, stack: str, latest: dict[str, Any] | None) -> None:
        path = self.stack_path(project, stack)
        if path.exists():
            (path.with_name(path.name + ".bak")).write_bytes(path.read_bytes())
        checkpoint = {"stack": f"{ORGANIZATION}/{project}/{stack}", "latest": latest}
        _write_json(path, {"version": 3, "checkpoint": checkpoint})

    def backup(self, project: str, stack: str) -> None:
        target = self.backup_dir(project, stack) / f"{stack}.{time.time_ns()}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.stack_path(project, stack).read_bytes())

    def add_history(self, project: str, stack: str, info: dict[str, Any]) -> None:
        prefix = self.history_dir(project, stack) / f"{stack}-{time.time_ns()}"
        _write_json(prefix.with_name(prefix.name + ".history.json"), info)
        (prefix.with_name(prefix.name + ".checkpoint.json")).write_bytes(self.stack_path(project, stack).read_bytes())

    def history(self, project: str, stack: str) -> list[dict[str, Any]]:
        """Newest first, as `getHistory` lists them."""
        files = sorted(self.history_dir(project, stack).glob("*.history.json"), reverse=True)
        return [json.loads(f.read_text()) for f in files]

    def locks(self, project: str, stack: str) -> list[Path]:
        return sorted(p for p in self.lock_dir(project, stack).glob("*.json") if not p.name.startswith("."))

    def remove(self, project: str, stack: str, remove_backups: bool) -> None:
        path = self.stack_path(project, stack)
        backup = path.with_name(path.name + ".bak")
        if remove_backups:
            backup.unlink(missing_ok=True)
            _rmtree(self.backup_dir(project, stack))
        else:
            backup.write_bytes(path.read_bytes())
        path.unlink()
        self.tags_path(project, stack).unlink(missing_ok=True)
        _rmtree(self.history_dir(project, stack))

    def tags(self, project: str, stack: str) -> dict[str, str]:
        path = self.tags_path(project, stack)
        return json.loads(path.read_text())["tags"] if path.exists() else {}

    def save_tags(self, project: str, stack: str, tags: dict[str, str]) -> None:
        _write_json(self.tags_path(project, stack), {"version": 1, "tags": tags}, indent=4)


def _rmtree(path: Path) -> None:
    if not path.exists():
        return
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()


# --- an engine operation: up / preview / refresh / destroy -----------------------------------------------------------


class _Events:
    """Engine events to the SDK: streamed to its `Events` gRPC server (`tcp://`) or appended to the event-log file."""

    def __init__(self, target: str | None) -> None:
        self._sequence = 0
        self._lock = threading.Lock()
        self._file = None
        self._queue: queue.Queue[events_pb2.EventRequest | None] | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        if target is None:
            return
        if target.startswith("tcp://"):
            self._queue = queue.Queue()
            self._channel = grpc.insecure_channel(target.removeprefix("tcp://"), options=_GRPC_CHANNEL_OPTIONS)
            self._thread = threading.Thread(target=self._stream, name="fake-pulumi-events", daemon=True)
            self._thread.start()
        else:
            self._file = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def _stream(self) -> None:
        assert self._queue is not None
        try:
            events_pb2_grpc.EventsStub(self._channel).StreamEvents(iter(self._queue.get, None))
        except grpc.RpcError as exn:  # the SDK's server went away: the CLI goes on without it too
            self.error = exn

    def emit(self, kind: str, payload: Mapping[str, Any]) -> None:
        with self._lock:
            event = {"sequence": self._sequence, "timestamp": int(time.time()), kind: payload}
            self._sequence += 1
            line = json.dumps(event)
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
            elif self._queue is not None:
                self._queue.put(events_pb2.EventRequest(event=line))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._channel.close()


class _Monitor(MockMonitor):
    """The ResourceMonitor a program talks to: MockMonitor (mocks, invokes, reads) with the engine's steps and URNs."""

    def __init__(self, operation: _Operation, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.operation = operation

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return self.operation.urn(parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        return self.operation.register(self, request)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.operation.register_outputs(request.urn, _from_struct(request.outputs))
        return empty_pb2.Empty()

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self.operation.record_read(request, response)
        return response

    def SupportsFeature(self, request: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id != "outputValues")


_MONITOR_METHODS = (
    "GetDeploymentInfo", "SupportsFeature", "Invoke", "ReadResource", "ExistsResource", "RegisterResource",
    "RegisterResourceOutputs", "RegisterStackTransform", "RegisterStackInvokeTransform", "RegisterResourceHook",
    "RegisterErrorHook", "RegisterPackage", "SignalAndWaitForShutdown",
)  # fmt: skip


class _MonitorServicer(resource_pb2_grpc.ResourceMonitorServicer):
    """gRPC servicer methods take `(request, context)`; MockMonitor's take `(request)`."""

    def __init__(self, monitor: _Monitor) -> None:
        self.monitor = monitor


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: _MonitorServicer, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return _in_fresh_loop(lambda: getattr(self.monitor, name)(request))
        except _EngineError as exn:
            self.monitor.operation.engine_errors.append(str(exn))
            context.abort(grpc.StatusCode.UNKNOWN, str(exn))
        except Exception as exn:  # a bug of the double: raised to the test once the program is done
            self.monitor.operation.internal_errors.append(exn)
            context.abort(grpc.StatusCode.UNKNOWN, f"{name}: {exn!r}")

    method.__name__ = name
    return method


for _name in _MONITOR_METHODS:
    setattr(_MonitorServicer, _name, _delegate(_name))


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    def __init__(self, operation: _Operation) -> None:
        self.operation = operation
        self.root = ""

    def Log(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.operation.log(request)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=self.root)

    def SetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.root = request.urn
        return engine_pb2.SetRootResourceResponse()

    def RequirePulumiVersion(self, request: Any, context: grpc.ServicerContext) -> Any:
        return engine_pb2.RequirePulumiVersionResponse()


class _Server:
    def __init__(self, register: Callable[[grpc.Server], None]) -> None:
        self._executor = futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="fake-pulumi-grpc")
        self.server = grpc.server(self._executor, options=_GRPC_CHANNEL_OPTIONS)
        register(self.server)
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(None).wait()
        self._executor.shutdown(wait=True)


@dataclass
class _Step:
    op: str
    urn: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def type(self) -> str:
        return str((self.new or self.old or {}).get("type", ""))

    @property
    def default_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:") and self.urn.rsplit("::", 1)[-1].startswith("default")


@dataclass
class _Script:
    """What the test scripted for this operation."""

    fail: str | None = None
    crash: bool = False
    gate: Gate | None = None


class _Operation:
    """One `up`/`preview`/`refresh`/`destroy`: runs the program, plans steps, emits events, writes state."""

    LABELS: ClassVar[dict[tuple[str, bool], str]] = {
        ("update", False): "Updating",
        ("update", True): "Previewing update",
        ("refresh", False): "Refreshing",
        ("refresh", True): "Previewing refresh",
        ("destroy", False): "Destroying",
        ("destroy", True): "Previewing destroy",
    }

    def __init__(
        self,
        fake: FakePulumiCommand,
        inv: _Invocation,
        backend: _Backend,
        project: str,
        stack: str,
        config: dict[str, Any],
        kind: str,
        dry_run: bool,
        script: _Script,
    ) -> None:
        self.fake, self.inv, self.backend = fake, inv, backend
        self.project, self.stack, self.config = project, stack, config
        self.kind, self.dry_run, self.script = kind, dry_run, script
        self.lock = threading.RLock()
        self.start = time.time()
        latest = backend.latest(project, stack) or {}
        self.old_resources: list[dict[str, Any]] = copy.deepcopy(latest.get("resources", []))
        self.old = {r["urn"]: r for r in self.old_resources}
        self.pending: list[dict[str, Any]] = copy.deepcopy(latest.get("pending_operations", []))
        self.secrets_providers = latest.get("secrets_providers")
        self.registered: dict[str, dict[str, Any]] = {}  # urn -> new state, in registration order
        self.steps: list[_Step] = []
        self.diagnostics: list[tuple[str, str, str]] = []  # (severity, urn, message)
        self.internal_errors: list[BaseException] = []
        self.engine_errors: list[str] = []
        self.root_urn = f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"
        self.events = _Events(inv.value("--event-log"))
        self.json = inv.has("--json")
        self.applied: list[dict[str, Any]] | None = None  # the resources after a successful up or destroy

    # -- the monitor's side ------------------------------------------------------------------------------------------

    def urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != STACK_TYPE:
                type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def _default_provider(self, type_: str, version: str) -> str:
        package = type_.split(":", 1)[0]
        name = "default_" + re.sub(r"[.\-+]", "_", version) if version else "default"
        urn = f"urn:pulumi:{self.stack}::{self.project}::pulumi:providers:{package}::{name}"
        with self.lock:
            if urn not in self.registered:
                old = self.old.get(urn)
                inputs = {"version": version} if version else {}
                state = {
                    "urn": urn,
                    "custom": True,
                    "id": old["id"] if old else str(uuid.uuid4()),
                    "type": f"pulumi:providers:{package}",
                    "inputs": inputs,
                    "outputs": inputs,
                    "created": old.get("created", _go_time()) if old else _go_time(),
                    "modified": _go_time(),
                }
                self._record(_Step("same" if old else "create", urn, old, state))
        return f"{urn}::{self.registered[urn]['id']}"

    def register(self, monitor: _Monitor, request: Any) -> Any:
        urn = self.urn(request.parent, request.type, request.name)
        inputs = _from_struct(request.object)
        old = self.old.get(urn)
        custom = bool(request.custom)
        provider = request.provider
        if custom and not provider and not request.type.startswith("pulumi:providers:"):
            provider = self._default_provider(request.type, request.version)
        if old is not None and old["type"] == request.type and old.get("inputs", {}) == inputs:
            op = "same"
        else:
            op = "create" if old is None or old["type"] != request.type else "update"
        if self.kind == "destroy":
            op = "same"  # a destroy runs the program only to know the resources; the deletes come afterwards
        state: dict[str, Any] = {"urn": urn, "custom": custom, "type": request.type}
        response: dict[str, Any] = {"urn": urn}
        if custom:
            if op == "same" and old is not None:
                resource_id, outputs = old.get("id", ""), old.get("outputs", {})
            else:
                args = MockResourceArgs(
                    typ=request.type,
                    name=request.name,
                    inputs=rpc.deserialize_properties(request.object),
                    provider=request.provider,
                    resource_id=request.importId,
                    custom=True,
                    transforms=_resolve_callbacks(request.transforms),
                )
                mock_id, mock_outputs = monitor.mocks.new_resource(args)
                outputs = _from_struct(_sync_await(rpc.serialize_properties(mock_outputs, {})))
                resource_id = old["id"] if op == "update" and old else (mock_id or "")
                if op == "create" and self.dry_run:
                    resource_id = ""  # unknown in a preview: the provider was not asked to create anything
            wire = _struct(_state_to_wire(outputs))
            monitor.resources[urn] = MockMonitor.ResourceRegistration(
                urn, resource_id, rpc.deserialize_properties(wire)
            )
            state["id"] = resource_id
            response |= {"id": resource_id, "object": wire}
        else:
            outputs = old.get("outputs", {}) if old else {}
        if request.type == STACK_TYPE:
            self.root_urn = urn
        state |= {"inputs": inputs, "outputs": outputs}
        if request.parent:
            state["parent"] = request.parent
        if request.protect:
            state["protect"] = True
        if request.dependencies:
            state["dependencies"] = list(request.dependencies)
        if provider:
            state["provider"] = provider
        if request.propertyDependencies:
            state["propertyDependencies"] = {k: list(v.urns) for k, v in request.propertyDependencies.items()}
        now = _go_time()
        state["created"] = old.get("created", now) if old else now
        state["modified"] = old.get("modified", now) if old and op == "same" else now
        self._record(_Step(op, urn, old, state))
        return resource_pb2.RegisterResourceResponse(**response)

    def _record(self, step: _Step) -> None:
        with self.lock:
            assert step.new is not None
            if step.urn in self.registered:
                raise _EngineError(f"Duplicate resource URN '{step.urn}'; try giving it a unique name")
            self.registered[step.urn] = step.new
            self.steps.append(step)

    def register_outputs(self, urn: str, outputs: dict[str, Any]) -> None:
        with self.lock:
            if urn in self.registered:
                self.registered[urn]["outputs"] = outputs

    def record_read(self, request: Any, response: Any) -> None:
        state = {
            "urn": response.urn,
            "custom": True,
            "id": request.id,
            "type": request.type,
            "external": True,
            "inputs": {},
            "outputs": _from_struct(response.properties),
        }
        if request.parent:
            state["parent"] = request.parent
        self._record(_Step("read", response.urn, self.old.get(response.urn), state))

    def log(self, request: Any) -> None:
        severity = _LOG_SEVERITY.get(request.severity, "error")
        if severity == "debug" and not self.inv.has("--debug"):
            return
        self.diagnose(severity, request.message, request.urn, stream_id=request.streamId, ephemeral=request.ephemeral)

    def diagnose(self, severity: str, message: str, urn: str = "", **extra: Any) -> None:
        with self.lock:
            self.diagnostics.append((severity, urn, message))
        prefix = f"{severity}: " if severity in ("error", "warning") else ""
        payload = {"urn": urn, "prefix": prefix, "message": message + "\n", "color": "never", "severity": severity}
        self.events.emit("diagnosticEvent", payload | {k: v for k, v in extra.items() if v})

    # -- running it --------------------------------------------------------------------------------------------------

    def run(self) -> None:
        """The whole operation; raises `_Exit` for anything but success."""
        label = self.LABELS[(self.kind, self.dry_run)]
        try:
            if not self.json:
                self.inv.out.out(f"{label} ({self.stack}):")
                self.inv.out.out()
            config = {k: _config_text(_blind(v)) for k, v in self.config.items()}
            self.events.emit("preludeEvent", {"config": config})
            if self.kind == "update" and not self.dry_run and self.pending:
                self._warn_pending()
            error, bail = self._evaluate()
            self._hold()
            if self.script.crash:
                self._crash()
            failure = self.script.fail
            if failure is None and (error or bail):
                failure = error or ""
            if failure is None:
                self._succeed()
            else:
                self._fail(failure)
        finally:
            self.events.close()

    def _evaluate(self) -> tuple[str, bool]:
        """Run the program when the engine would: always for up/preview, for refresh/destroy with --run-program."""
        client = self.inv.value("--client")
        runs = self.kind == "update" or self.inv.has("--run-program")
        if not runs:
            return "", False
        if client is None:
            raise AssertionError(f"FakePulumiCommand runs inline programs only (no --client in {self.inv.args})")
        error, bail = self._run_program(client)
        if self.internal_errors:
            raise self.internal_errors[0]
        if self.engine_errors:
            return self.engine_errors[0], False
        return error, bail

    def _run_program(self, client: str) -> tuple[str, bool]:
        monitor = _Monitor(self, self.fake.mocks)
        engine = _EngineServicer(self)
        monitor_server = _Server(
            partial(resource_pb2_grpc.add_ResourceMonitorServicer_to_server, _MonitorServicer(monitor))
        )
        engine_server = _Server(partial(engine_pb2_grpc.add_EngineServicer_to_server, engine))
        secret_keys = [k for k, v in self.config.items() if _has_secret(v)]
        request = language_pb2.RunRequest(
            project=self.project,
            stack=self.stack,
            pwd=self.inv.cwd,
            program=self.fake._project_settings(self.inv.cwd).get("main") or ".",
            args=[engine_server.address],
            config={k: _config_text(_decrypt(v)) for k, v in self.config.items()},
            configSecretKeys=secret_keys,
            dryRun=self.dry_run,
            parallel=int(self.inv.value("--parallel") or 16),
            monitor_address=monitor_server.address,
            organization=ORGANIZATION,
        )
        try:
            with grpc.insecure_channel(client, options=_GRPC_CHANNEL_OPTIONS) as channel:
                response = language_pb2_grpc.LanguageRuntimeStub(channel).Run(request)
        finally:
            monitor_server.stop()
            engine_server.stop()
        return response.error, response.bail

    def _warn_pending(self) -> None:
        listed = "".join(
            f"  * {p['resource']['urn']}, interrupted while {p['type']}\n" for p in self.pending if "resource" in p
        )
        self.diagnose(
            "warning",
            f"Attempting to deploy or update resources with {len(self.pending)} pending operations from previous "
            f"deployment.\n{listed}These resources are in an unknown state because the Pulumi CLI was interrupted "
            "while waiting for changes to these resources to complete. You should confirm whether or not the "
            "operations listed completed successfully by checking the state of the appropriate provider. For "
            "example, if you are using AWS, you can confirm using the AWS Console.\n\nOnce you have confirmed the "
            "status of the interrupted operations, you can repair your stack using `pulumi refresh` which will "
            "refresh the state from the provider you are using and clear the pending operations if there are any."
            "\n\nNote that `pulumi refresh` will need to be run interactively to clear pending CREATE operations.",
        )

    def _planned(self) -> list[_Step]:
        """Every step in the engine's order: registrations as they came, then deletes (dependents first)."""
        if self.kind == "destroy":
            return [_Step("delete", r["urn"], r, None) for r in reversed(self.old_resources)]
        if self.kind == "refresh":
            return [_Step("refresh", r["urn"], r, r) for r in self.old_resources]
        steps = list(self.steps)
        steps += [
            _Step("delete", r["urn"], r, None) for r in reversed(self.old_resources) if r["urn"] not in self.registered
        ]
        return steps

    def _hold(self) -> None:
        gate = self.script.gate
        if gate is None:
            return
        gate.started.set()
        if not gate.wait(gate.timeout):
            raise AssertionError(f"FakePulumiCommand: the held {self.inv.command} was never released")
        if gate.outcome == "kill":
            self.script.crash = True
        elif gate.outcome == "interrupt":
            self.inv.out.out("^C received; cancelling. If you would like to terminate immediately, press ^C again.")
            self.script.fail = f"{'preview' if self.dry_run else 'update'} canceled"

    def _crash(self) -> None:
        """SIGKILL mid-update: while the first provider operation is in flight. What the engine had already done
        without a provider (components, the stack, default providers) is in the checkpoint; the step in flight is a
        pending operation; the lock stays and no history is written."""
        resources = {r["urn"]: r for r in self.old_resources}
        pending = list(self.pending)
        for step in self._planned():
            custom = (step.new or step.old or {}).get("custom", False)
            if step.op in _OP_PENDING and custom and not step.default_provider:
                self._step_event("resourcePreEvent", step)
                self._line(step, started=True)
                pending.append({"resource": step.new or step.old, "type": _OP_PENDING[step.op]})
                break
            if step.new is not None and step.op != "refresh":
                self._apply(step)
                resources[step.urn] = step.new
        if not self.dry_run:
            self.backend.save(self.project, self.stack, self._latest(list(resources.values()), pending))
        raise _Exit(-9)

    def _succeed(self) -> None:
        steps = self._planned()
        for step in steps:
            self._apply(step)
        changes = self._changes(steps)
        if self.dry_run:
            self._finish(changes, succeeded=True)
            self._expect_no_changes(changes)
            return
        if self.kind == "destroy":
            resources: list[dict[str, Any]] = []
        elif self.kind == "refresh":
            resources = self.old_resources
        else:
            resources = list(self.registered.values())
        self._write(resources, changes, succeeded=True)
        self._finish(changes, succeeded=True)
        if self.kind in ("update", "destroy"):
            self.applied = [_describe(r) for r in resources]
        self._expect_no_changes(changes)

    def _expect_no_changes(self, changes: Mapping[str, int]) -> None:
        if self.inv.has("--expect-no-changes") and any(n for op, n in changes.items() if op != "same"):
            raise _fail(f"no changes were expected but changes {'were proposed' if self.dry_run else 'occurred'}")

    def _fail(self, message: str) -> None:
        """A failed operation: what was registered before the failure is kept, nothing is deleted."""
        if message and ("error", message) not in {(s, m) for s, _, m in self.diagnostics}:
            self.diagnose("error", message, self.root_urn)
        # The engine's reportExecResult says "update" for every kind that is not a dry run.
        self.diagnose("error", f"{'preview' if self.dry_run else 'update'} failed", self.root_urn)
        changes: collections.Counter[str] = collections.Counter()
        if not self.dry_run:
            resources = list(self.old_resources)
            if self.kind == "update" and self.script.fail is None:  # the program failed: its registrations stand
                for step in self.steps:
                    self._apply(step)
                    if not step.default_provider:
                        changes[_counted(step)] += 1
                kept = {r["urn"]: r for r in self.old_resources} | self.registered
                resources = list(kept.values())
            self._write(resources, changes, succeeded=False)
        self._finish(changes, succeeded=False)
        raise _Exit(255)

    def _apply(self, step: _Step) -> None:
        if step.default_provider:
            return
        self._step_event("resourcePreEvent", step)
        self._step_event("resOutputsEvent", step)
        self._line(step, started=False)

    def _changes(self, steps: list[_Step]) -> collections.Counter[str]:
        return collections.Counter(_counted(s) for s in steps if not s.default_provider)

    def _latest(self, resources: list[dict[str, Any]], pending: list[dict[str, Any]]) -> dict[str, Any]:
        latest: dict[str, Any] = {
            "manifest": {"time": _go_time(), "magic": hashlib.sha256(b"fake").hexdigest(), "version": "v3.272.0"},
            "secrets_providers": self.secrets_providers or self.fake._secrets_providers(self.inv.cwd, self.stack),
            "resources": resources,
        }
        if pending:
            latest["pending_operations"] = pending
        latest["metadata"] = {}
        return latest

    def _write(self, resources: list[dict[str, Any]], changes: Mapping[str, int], succeeded: bool) -> None:
        pending = [p for p in self.pending if p.get("type") == "creating"]  # the engine keeps only pending creates
        if self.kind == "refresh" and self.inv.has("--clear-pending-creates"):
            pending = []
        self.backend.save(self.project, self.stack, self._latest(resources, pending))
        info = {
            "kind": self.kind,
            "startTime": int(self.start),
            "message": self.inv.value("--message") or "",
            "environment": {
                "exec.kind": self.inv.value("--exec-kind") or "cli",
                "pulumi.version": f"v{self.fake.version}",
                "pulumi.os": "linux",
                "pulumi.arch": "amd64",
            },
            "config": self.config,
            "result": "succeeded" if succeeded else "failed",
            "endTime": int(time.time()),
            "resourceChanges": dict(changes),
        }
        self.backend.add_history(self.project, self.stack, info)
        disabled = ("PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS", "PULUMI_DISABLE_CHECKPOINT_BACKUPS")
        if not any(_env_true(self.inv.env, name) for name in disabled):
            self.backend.backup(self.project, self.stack)

    def _finish(self, changes: Mapping[str, int], succeeded: bool) -> None:
        duration = max(0, int(time.time() - self.start))
        summary = {"maybeCorrupt": False, "durationSeconds": duration, "resourceChanges": dict(changes)}
        self.events.emit("summaryEvent", summary | {"PolicyPacks": {}})
        self.events.emit("cancelEvent", {})
        if self.json:
            self._print_digest(changes)
            return
        self._print_summary(changes, duration, succeeded)

    # -- what the CLI prints -----------------------------------------------------------------------------------------

    def _step_event(self, kind: str, step: _Step) -> None:
        metadata: dict[str, Any] = {
            "op": step.op,
            "urn": step.urn,
            "type": step.type,
            "provider": (step.new or step.old or {}).get("provider", ""),
            "old": _event_state(step.old),
            "new": _event_state(step.new) if kind == "resOutputsEvent" or step.op != "delete" else None,
        }
        if step.op == "update" and step.old and step.new:
            olds, news = step.old.get("inputs", {}), step.new.get("inputs", {})
            keys = sorted(k for k in olds.keys() | news.keys() if olds.get(k) != news.get(k))
            metadata["diffs"] = keys
            metadata["detailedDiff"] = {
                k: {"diffKind": "add" if k not in olds else "delete" if k not in news else "update", "inputDiff": True}
                for k in keys
            }
        self.events.emit(kind, {"metadata": metadata, "planning": self.dry_run})

    def _line(self, step: _Step, started: bool) -> None:
        if self.json or step.op in ("same", "refresh"):
            return
        symbol = {"create": "+", "update": "~", "delete": "-", "read": ">"}.get(step.op, " ")
        name = step.urn.rsplit("::", 1)[-1]
        if self.dry_run:
            verb = {"create": "create", "update": "update", "delete": "delete", "read": "read"}[step.op]
        elif started:
            verb = {"create": "creating", "update": "updating", "delete": "deleting", "read": "reading"}[step.op]
        else:
            verb = {"create": "created", "update": "updated", "delete": "deleted", "read": "read"}[step.op]
        self.inv.out.out(f" {symbol}  {step.type} {name} {verb}")

    def _print_summary(self, changes: Mapping[str, int], duration: int, succeeded: bool) -> None:
        out = self.inv.out.out
        out()
        if self.diagnostics:
            out("Diagnostics:")
            by_urn: dict[str, list[tuple[str, str]]] = {}
            for severity, urn, message in self.diagnostics:
                by_urn.setdefault(urn or self.root_urn, []).append((severity, message))
            for urn, messages in by_urn.items():
                out(f"  {urn.split('::')[2].rsplit('$', 1)[-1]} ({urn.rsplit('::', 1)[-1]}):")
                for severity, message in messages:
                    prefix = f"{severity}: " if severity in ("error", "warning") else ""
                    out("\n".join("    " + line for line in (prefix + message).rstrip("\n").split("\n")))
                out()
        outputs = self.registered.get(self.root_urn, {}).get("outputs", {})
        if succeeded and self.kind == "update" and not self.dry_run and outputs:
            out("Outputs:")
            for key, value in sorted(outputs.items()):
                out(f"    {key}: {json.dumps(_plain(value, show_secrets=False))}")
            out()
        out("Resources:")
        words = ("to create", "to update", "to delete") if self.dry_run else ("created", "updated", "deleted")
        for symbol, op, word in zip("+~-", ("create", "update", "delete"), words, strict=True):
            if changes.get(op):
                out(f"    {symbol} {changes[op]} {word}")
        if changes.get("read"):
            out(f"    > {changes['read']} read")
        if changes.get("same"):
            out(f"    {changes['same']} unchanged")
        out()
        out(f"Duration: {duration}s")
        out()
        if succeeded and self.kind == "destroy" and not self.dry_run:
            out(
                "The resources in the stack have been deleted, but the history and configuration associated with "
                f"the stack are still maintained. \nIf you want to remove the stack completely, run "
                f"`pulumi stack rm {self.stack}`."
            )

    def _print_digest(self, changes: Mapping[str, int]) -> None:
        steps = [
            {"op": s.op, "urn": s.urn, "provider": (s.new or {}).get("provider", ""), "newState": _event_state(s.new)}
            for s in self._planned()
            if not s.default_provider
        ]
        digest: dict[str, Any] = {
            "config": {k: _config_text(_blind(v)) for k, v in self.config.items()},
            "steps": steps,
            "duration": int((time.time() - self.start) * 1e9),
            "changeSummary": dict(changes),
        }
        if self.diagnostics:
            digest["diagnostics"] = [{"urn": u, "message": m + "\n", "severity": s} for s, u, m in self.diagnostics]
        self.inv.out.out(json.dumps(digest, indent=4))


def _counted(step: _Step) -> str:
    return "same" if step.op == "refresh" else step.op


def _event_state(state: dict[str, Any] | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "type": state["type"],
        "urn": state["urn"],
        "custom": state.get("custom", False),
        "delete": False,
        "id": state.get("id", ""),
        "parent": state.get("parent", ""),
        "protect": state.get("protect", False),
        "inputs": _plain(state.get("inputs", {}), show_secrets=False),
        "outputs": _plain(state.get("outputs", {}), show_secrets=False),
        "provider": state.get("provider", ""),
    }


def _describe(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint resource for tests: plain inputs and outputs (secrets unwrapped), its name split out."""
    return {
        "urn": state["urn"],
        "type": state["type"],
        "name": state["urn"].rsplit("::", 1)[-1],
        "id": state.get("id", ""),
        "custom": state.get("custom", False),
        "parent": state.get("parent", ""),
        "provider": state.get("provider", ""),
        "dependencies": state.get("dependencies", []),
        "inputs": _plain(state.get("inputs", {})),
        "outputs": _plain(state.get("outputs", {})),
    }


# --- the double -----------------------------------------------------------------------------------------------------


class FakePulumiCommand(PulumiCommand):
    """A `PulumiCommand` that answers like the Pulumi CLI with a DIY `file://` backend, without any binary.

    * `calls: list[CliCall]` records every `run`; `commands()` lists their subcommand words, for sequence asserts.
    * Scripting, each for the next operation(s) of a command as `CliCall.command` names it (`"up"`, `"destroy"`,
      `"stack rm"`, ...): `fail_next(command, message)`, `conflict_next(command, times=1)`,
      `crash_during(command)`, `hold(command) -> Gate`.
    * `on_applied(stack, resources)`, when set, is called after each successful `up`/`destroy`, lock released.
    * What is on disk: `stacks(project)`, `resources(project, stack)`, `checkpoint(...)`,
      `pending_operations(...)`, `locks(...)`, `history(...)`; each takes `root=` (the backend directory),
      which defaults to the last backend this instance was used with.
    """

    _root_mutexes: ClassVar[dict[str, threading.Lock]] = {}
    _root_mutexes_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, *, version: str = "3.272.0", mocks: pulumi.runtime.Mocks | None = None) -> None:
        # Deliberately not calling PulumiCommand.__init__: it runs `pulumi version`.
        self.command = "pulumi"
        self.version = VersionInfo.parse(version)
        if mocks is None:
            from tests.infra.pulumi_mocks import Recorder

            mocks = Recorder()
        self.mocks = mocks
        self.calls: list[CliCall] = []
        self.on_applied: Callable[[str, list[dict[str, Any]]], None] | None = None
        self._lock = threading.RLock()
        self._failures: dict[str, collections.deque[str]] = collections.defaultdict(collections.deque)
        self._conflicts: dict[str, int] = collections.defaultdict(int)
        self._crashes: dict[str, int] = collections.defaultdict(int)
        self._gates: dict[str, collections.deque[Gate]] = collections.defaultdict(collections.deque)
        self._current: dict[tuple[str, str], str] = {}  # (backend root, project) -> selected stack
        self._plugins: list[dict[str, Any]] = []
        self._roots: list[Path] = []

    # -- scripting ---------------------------------------------------------------------------------------------------

    def fail_next(self, command: str, message: str) -> None:
        """The next `command` fails as the engine fails it: an error diagnostic with `message`, exit 255."""
        with self._lock:
            self._failures[command].append(message)

    def conflict_next(self, command: str, times: int = 1) -> None:
        """The next `times` `command`s find the stack locked by a live process on another host."""
        assert command in LOCKING_COMMANDS, f"{command!r} does not take the stack lock"
        with self._lock:
            self._conflicts[command] += times

    def crash_during(self, command: str) -> None:
        """The next `command` dies as a SIGKILLed CLI: lock left, a pending operation in the checkpoint, exit -9."""
        assert command in ENGINE_COMMANDS, f"{command!r} is not an engine operation"
        with self._lock:
            self._crashes[command] += 1

    def hold(self, command: str) -> Gate:
        """The next `command` blocks after taking its lock (and running the program) until the gate is opened."""
        assert command in ENGINE_COMMANDS, f"{command!r} is not an engine operation"
        gate = Gate()
        with self._lock:
            self._gates[command].append(gate)
        return gate

    # -- what the tests look at --------------------------------------------------------------------------------------

    def commands(self) -> list[str]:
        with self._lock:
            return [call.command for call in self.calls]

    def _backend_for(self, root: str | Path | None) -> _Backend:
        if root is None:
            with self._lock:
                assert self._roots, "no backend used yet: pass root="
                return _Backend(self._roots[-1])
        return _Backend(Path(root))

    def stacks(self, project: str, *, root: str | Path | None = None) -> list[str]:
        return [stack for _, stack in self._backend_for(root).stacks(project)]

    def checkpoint(self, project: str, stack: str, *, root: str | Path | None = None) -> dict[str, Any] | None:
        """The latest deployment (`checkpoint.latest`) as stored, `None` for a stack never updated."""
        return self._backend_for(root).latest(project, stack)

    def resources(self, project: str, stack: str, *, root: str | Path | None = None) -> list[dict[str, Any]]:
        latest = self._backend_for(root).latest(project, stack) or {}
        return [_describe(r) for r in latest.get("resources", [])]

    def pending_operations(self, project: str, stack: str, *, root: str | Path | None = None) -> list[dict[str, Any]]:
        latest = self._backend_for(root).latest(project, stack) or {}
        return list(latest.get("pending_operations", []))

    def locks(self, project: str, stack: str, *, root: str | Path | None = None) -> list[Path]:
        return self._backend_for(root).locks(project, stack)

    def history(self, project: str, stack: str, *, root: str | Path | None = None) -> list[dict[str, Any]]:
        """Every history entry, newest first, as stored (times in Unix seconds)."""
        return self._backend_for(root).history(project, stack)

    # -- PulumiCommand -----------------------------------------------------------------------------------------------

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: Callable[[str], Any] | None = None,
        on_error: Callable[[str], Any] | None = None,
    ) -> CommandResult:
        # As the real run(): --non-interactive first (before any "--"), the caller's env over ours.
        separator = args.index("--") if "--" in args else len(args)
        if "--non-interactive" not in args[:separator]:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        call = CliCall(tuple(args), cwd, env)
        with self._lock:
            self.calls.append(call)
        command = call.command
        handler = getattr(self, "_cmd_" + command.replace(" ", "_").replace("-", "_"), None)
        if handler is None or command not in _KNOWN:
            raise AssertionError(f"FakePulumiCommand: unexpected command: pulumi {' '.join(args)}")
        positional, flags = _parse(list(args), command)
        for flag in _UNMODELLED:
            if flag in flags:
                raise AssertionError(f"FakePulumiCommand does not model {flag}: pulumi {' '.join(args)}")
        out = _Output(on_output, on_error)
        inv = _Invocation(list(args), cwd, env, command, positional, flags, out)
        code = 0
        try:
            with self._lock:
                failure = self._failures[command].popleft() if self._failures[command] else None
            if failure is not None and command not in ENGINE_COMMANDS:
                raise _fail(failure)
            handler(inv, failure)
        except _Exit as exit_:
            code = exit_.code
            if exit_.stderr:
                out.err(exit_.stderr)
        result = CommandResult(stdout="\n".join(out.stdout), stderr="\n".join(out.stderr), code=code)
        if code != 0:
            raise create_command_error(result)
        return result

    # -- shared plumbing ---------------------------------------------------------------------------------------------

    def _project_settings(self, cwd: str) -> dict[str, Any]:
        for name in ("Pulumi.yaml", "Pulumi.yml", "Pulumi.json"):
            path = Path(cwd) / name
            if path.exists():
                text = path.read_text()
                return json.loads(text) if name.endswith(".json") else (yaml.safe_load(text) or {})
        raise _fail(f"no Pulumi.yaml project file found (searching upwards from {cwd}). If you have not created a "
                    "project yet, use `pulumi new` to do so")  # fmt: skip

    def _project(self, inv: _Invocation) -> str:
        return str(self._project_settings(inv.cwd)["name"])

    def _backend(self, inv: _Invocation) -> _Backend:
        url = inv.env.get("PULUMI_BACKEND_URL") or (self._project_settings(inv.cwd).get("backend") or {}).get("url")
        if not url or not url.startswith("file://"):
            raise _fail(f"FakePulumiCommand models the DIY file:// backend only; PULUMI_BACKEND_URL is {url!r}")
        path = url.removeprefix("file://").split("?", 1)[0]
        if not os.path.isabs(path):
            raise _fail(f"FakePulumiCommand wants an absolute file:// backend path, got {url!r}")
        root = Path(path)
        if not root.is_dir():
            # As the real CLI (gocloud's fileblob): a file:// backend must be an existing directory.
            raise _fail(f"unable to open bucket {url}: stat {root}: no such file or directory")
        with self._lock:
            if root in self._roots:
                self._roots.remove(root)
            self._roots.append(root)  # the last one used is the accessors' default
        return _Backend(root)

    def _stack_ref(self, inv: _Invocation, name: str | None = None) -> tuple[str, str]:
        project = self._project(inv)
        name = name or inv.value("--stack")
        if name is None:
            raise _fail("no stack selected; please use `pulumi stack select` to choose one")
        parts = name.split("/")
        if len(parts) == 3:
            if parts[0] != ORGANIZATION:
                raise _fail(f"organization name must be '{ORGANIZATION}'")
            project, name = parts[1], parts[2]
        elif len(parts) == 2:
            project, name = parts
        if len(name) > 100:
            raise _fail("a stack name cannot exceed 100 characters")
        if not _STACK_NAME.match(name):
            raise _fail("a stack name may only contain alphanumeric, hyphens, underscores, or periods")
        return project, name

    def _existing(self, inv: _Invocation, name: str | None = None) -> tuple[_Backend, str, str]:
        backend = self._backend(inv)
        project, stack = self._stack_ref(inv, name)
        if not backend.exists(project, stack):
            raise _fail(f"no stack named '{stack}' found")
        return backend, project, stack

    @classmethod
    def _root_mutex(cls, backend: _Backend) -> threading.Lock:
        with cls._root_mutexes_guard:
            return cls._root_mutexes.setdefault(str(backend.root), threading.Lock())

    @contextlib.contextmanager
    def _stack_lock(self, inv: _Invocation, backend: _Backend, project: str, stack: str) -> Iterator[Path]:
        """The DIY backend's Lock/Unlock around an operation; another lock file makes it fail as the CLI does."""
        last = False
        with self._lock:
            conflict = self._conflicts[inv.command] > 0
            if conflict:
                self._conflicts[inv.command] -= 1
                last = self._conflicts[inv.command] == 0
        foreign = backend.lock_dir(project, stack) / "0f0f0f0f-0000-4000-8000-00000000beef.json"
        if conflict:
            content = {"pid": 4242, "username": "deployer", "hostname": "ci-runner-7", "timestamp": _go_time()}
            _write_json(foreign, content)
        try:
            with self._root_mutex(backend):
                others = backend.locks(project, stack)
                if others:
                    lines = [
                        f"the stack is currently locked by {len(others)} lock(s). Either wait for the other "
                        "process(es) to end or delete the lock file with `pulumi cancel`."
                    ]
                    for path in others:
                        lock = json.loads(path.read_text())
                        lines.append(
                            f"  {backend.url}/{path.relative_to(backend.root).as_posix()}?no_tmp_dir=true: created by "
                            f"{lock['username']}@{lock['hostname']} (pid {lock['pid']}) "
                            f"at {_rfc3339(lock['timestamp'])}"
                        )
                    raise _fail("\n".join(lines))
                mine = backend.lock_dir(project, stack) / f"{uuid.uuid4()}.json"
                _write_json(mine, _lock_content(os.getpid()))
        finally:
            if conflict and last:
                foreign.unlink(missing_ok=True)
        crashed = False
        try:
            yield mine
        except _Exit as exit_:
            crashed = exit_.code == -9
            if crashed:  # the killed CLI's lock stays, naming a process that is gone
                _write_json(mine, _lock_content(_dead_pid()))
            raise
        finally:
            if not crashed:
                if mine.exists():
                    mine.unlink()
                else:
                    inv.out.err(
                        f"error: there was a problem deleting the lock at {backend.url}/"
                        f"{mine.relative_to(backend.root).as_posix()}, manual clean up may be required: "
                        "blob (code=NotFound): no such file or directory"
                    )

    def _stack_file(self, inv: _Invocation, stack: str) -> Path:
        return Path(inv.cwd) / f"Pulumi.{stack}.yaml"

    def _stack_settings(self, inv: _Invocation, stack: str) -> dict[str, Any]:
        path = self._stack_file(inv, stack)
        return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}

    def _save_stack_settings(self, inv: _Invocation, stack: str, settings: dict[str, Any]) -> None:
        self._stack_file(inv, stack).write_text(yaml.safe_dump(settings, sort_keys=True))

    def _secrets_providers(self, cwd: str, stack: str) -> dict[str, Any]:
        path = Path(cwd) / f"Pulumi.{stack}.yaml"
        return _manager((yaml.safe_load(path.read_text()) or {}) if path.exists() else {})

    def _passphrase(self, inv: _Invocation) -> str:
        if "PULUMI_CONFIG_PASSPHRASE" in inv.env:
            return inv.env["PULUMI_CONFIG_PASSPHRASE"]
        if "PULUMI_CONFIG_PASSPHRASE_FILE" in inv.env:
            return Path(inv.env["PULUMI_CONFIG_PASSPHRASE_FILE"]).read_text()
        raise _fail(
            'constructing secrets manager of type "passphrase": passphrase must be set with '
            "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables"
        )

    def _check_secrets(self, inv: _Invocation, stack: str) -> None:
        """The stack's secrets manager, before anything touching config or state: the passphrase one needs the
        right passphrase, also for the secrets the state holds.

        A stack file naming no secrets manager (a fresh work directory) gets the one the checkpoint records with
        PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER, else a new passphrase manager; either is written back to the file.
        """
        settings = self._stack_settings(inv, stack)
        if settings.get("secretsprovider") not in (None, "passphrase"):
            return
        salt = settings.get("encryptionsalt")
        if salt:
            _check_passphrase(salt, self._passphrase(inv))
            return
        recorded = self._recorded_manager(inv, stack)
        fallback = _env_true(inv.env, "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER")
        if fallback and recorded.get("type") == "cloud":
            self._save_stack_settings(inv, stack, settings | {"secretsprovider": recorded["state"]["url"]})
            return
        passphrase = self._passphrase(inv)
        state_salt = recorded.get("state", {}).get("salt") if recorded.get("type") == "passphrase" else None
        if state_salt:
            _check_passphrase(state_salt, passphrase)  # the state's secrets are sealed with it
        new_salt = _salt(base64.b64encode(_secrets.token_bytes(8)).decode(), passphrase)
        salt = state_salt if fallback and state_salt else new_salt
        self._save_stack_settings(inv, stack, settings | {"encryptionsalt": salt})

    def _recorded_manager(self, inv: _Invocation, stack: str) -> dict[str, Any]:
        """The secrets manager the stack's checkpoint records (empty when there is none)."""
        backend = self._backend(inv)
        project, name = self._stack_ref(inv, stack)
        latest = backend.latest(project, name) if backend.exists(project, name) else None
        return dict((latest or {}).get("secrets_providers") or {})

    def _config(self, inv: _Invocation, project: str, stack: str) -> dict[str, Any]:
        config = self._stack_settings(inv, stack).get("config") or {}
        return {_full_key(k, project): v for k, v in config.items()}

    # -- stack -------------------------------------------------------------------------------------------------------

    def _cmd_stack_select(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv, inv.positional[0] if inv.positional else None)
        with self._lock:
            self._current[(str(backend.root), project)] = stack

    def _cmd_stack_init(self, inv: _Invocation, failure: str | None) -> None:
        backend = self._backend(inv)
        project, stack = self._stack_ref(inv, inv.positional[0] if inv.positional else None)
        provider = inv.value("--secrets-provider") or "passphrase"
        settings = self._stack_settings(inv, stack)
        if provider == "passphrase" and "encryptionsalt" not in settings:
            salt = base64.b64encode(_secrets.token_bytes(8)).decode()
            settings["encryptionsalt"] = _salt(salt, self._passphrase(inv))
        elif provider != "passphrase":
            settings["secretsprovider"] = provider
        with self._stack_lock(inv, backend, project, stack):
            if backend.exists(project, stack):
                raise _fail(f"stack '{ORGANIZATION}/{project}/{stack}' already exists")
            manifest = {"time": _go_time(), "magic": hashlib.sha256(b"fake").hexdigest(), "version": f"v{self.version}"}
            backend.save(
                project, stack, {"manifest": manifest, "secrets_providers": _manager(settings), "metadata": {}}
            )
        self._save_stack_settings(inv, stack, settings)
        if not inv.has("--no-select"):
            with self._lock:
                self._current[(str(backend.root), project)] = stack
        inv.out.out(f"Created stack '{stack}'")

    def _cmd_stack_rm(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv, inv.positional[0] if inv.positional else None)
        if not inv.has("--yes"):
            raise _fail("non-interactive mode requires --yes flag")
        with self._stack_lock(inv, backend, project, stack):
            latest = backend.latest(project, stack) or {}
            if latest.get("resources") and not inv.has("--force"):
                raise _fail(
                    f"'{stack}' still has resources; removal rejected. Possible actions:\n"
                    f"- Make sure that '{stack}' is the stack that you want to destroy\n"
                    "- Run `pulumi destroy` to delete the resources, then run `pulumi stack rm`\n"
                    "- Run `pulumi stack rm --force` to override this error"
                )
            backend.remove(project, stack, inv.has("--remove-backups"))
        if not inv.has("--preserve-config") and project == self._project(inv):
            self._stack_file(inv, stack).unlink(missing_ok=True)
        with self._lock:
            self._current.pop((str(backend.root), project), None)
        inv.out.out(f"Stack '{stack}' has been removed!")

    def _cmd_stack_ls(self, inv: _Invocation, failure: str | None) -> None:
        backend = self._backend(inv)
        project = self._project(inv)
        with self._lock:
            current = self._current.get((str(backend.root), project))
        listed = []
        for stack_project, stack in backend.stacks(None if inv.has("--all") else project):
            latest = backend.latest(stack_project, stack)
            name = stack if stack_project == project else f"{ORGANIZATION}/{stack_project}/{stack}"
            entry: dict[str, Any] = {"name": name, "current": stack_project == project and stack == current}
            if latest is not None:
                if "time" in latest.get("manifest", {}):
                    entry["lastUpdate"] = _cli_time(_parse_go_time(latest["manifest"]["time"]).timestamp())
                entry["resourceCount"] = len(latest.get("resources", []))
            listed.append(entry)
        inv.out.out(json.dumps(sorted(listed, key=lambda e: e["name"]), indent=4))

    def _cmd_stack_history(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        show = inv.has("--show-secrets")
        if show:
            self._check_secrets(inv, stack)
        size = int(inv.value("--page-size") or _HISTORY_PAGE_SIZE)
        page = max(1, int(inv.value("--page") or 1))
        entries = backend.history(project, stack)
        if size > 0:
            entries = entries[(page - 1) * size : page * size]
        listed = []
        for entry in entries:
            config = {}
            for key, value in entry.get("config", {}).items():
                secret = _has_secret(value)
                shown: dict[str, Any] = {"secret": secret}
                if not secret or show:
                    plain = _decrypt(value)
                    shown["value"] = _config_text(plain)
                    if not isinstance(plain, str):
                        shown["objectValue"] = plain
                config[key] = shown
            listed.append(
                {
                    "version": entry.get("version", 0),
                    "kind": entry["kind"],
                    "startTime": _cli_time(entry["startTime"]),
                    "message": entry.get("message", ""),
                    "environment": entry.get("environment", {}),
                    "config": config,
                    "result": entry["result"],
                    "endTime": _cli_time(entry["endTime"]),
                    "resourceChanges": entry.get("resourceChanges", {}),
                }
            )
        inv.out.out(json.dumps(listed, indent=4))

    def _cmd_stack_output(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        latest = backend.latest(project, stack) or {}
        root: dict[str, Any] = next((r for r in latest.get("resources", []) if r["type"] == STACK_TYPE), {})
        outputs = _plain(root.get("outputs", {}), show_secrets=inv.has("--show-secrets"))
        if inv.positional:
            name = inv.positional[0]
            if name not in outputs:
                raise _fail(f"current stack does not have output property '{name}'")
            outputs = outputs[name]
        inv.out.out(json.dumps(outputs, indent=2))

    def _cmd_stack_export(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        latest = backend.latest(project, stack)
        inv.out.out(json.dumps({"version": 3, "deployment": latest}, indent=4))

    def _cmd_stack_import(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        source = inv.value("--file")
        if source is None:
            raise AssertionError("FakePulumiCommand: stack import reads --file only (stdin is not modelled)")
        deployment = json.loads(Path(source).read_text())
        latest = deployment.get("deployment")
        for resource in (latest or {}).get("resources", []):
            if not resource["urn"].startswith(f"urn:pulumi:{stack}::"):
                raise _fail(
                    f"could not import deployment: resource '{resource['urn']}' is from a different stack; "
                    "the deployment must be for the stack being imported into"
                )
        with self._stack_lock(inv, backend, project, stack):
            backend.save(project, stack, latest)
        inv.out.out("Import complete.")

    def _cmd_stack_tag_set(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        key, value = inv.positional
        backend.save_tags(project, stack, backend.tags(project, stack) | {key: value})

    def _cmd_stack_tag_get(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        tags = self._all_tags(backend, project, stack)
        key = inv.positional[0]
        if key not in tags:
            raise _fail(f"stack tag '{key}' not found for stack '{stack}'")
        inv.out.out(tags[key])

    def _cmd_stack_tag_rm(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        tags = backend.tags(project, stack)
        tags.pop(inv.positional[0], None)
        backend.save_tags(project, stack, tags)

    def _cmd_stack_tag_ls(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        inv.out.out(json.dumps(self._all_tags(backend, project, stack), indent=4, sort_keys=True))

    @staticmethod
    def _all_tags(backend: _Backend, project: str, stack: str) -> dict[str, str]:
        return {"pulumi:project": project} | backend.tags(project, stack)

    # -- config ------------------------------------------------------------------------------------------------------

    def _cmd_config(self, inv: _Invocation, failure: str | None) -> None:
        _, project, stack = self._existing(inv)
        show = inv.has("--show-secrets")
        if show:
            self._check_secrets(inv, stack)
        if not inv.has("--json"):
            raise AssertionError("FakePulumiCommand: `pulumi config` prints JSON only (--json)")
        listed = {}
        for key, value in sorted(self._config(inv, project, stack).items()):
            secret = _has_secret(value)
            plain = _decrypt(value) if show else _blind(value)
            shown: dict[str, Any] = {"value": _config_text(plain), "secret": secret}
            if not isinstance(plain, str):
                shown["objectValue"] = plain
            if secret and not show and isinstance(plain, str):
                shown.pop("value")
            listed[key] = shown
        inv.out.out(json.dumps(listed, indent=4))

    def _cmd_config_get(self, inv: _Invocation, failure: str | None) -> None:
        _, project, stack = self._existing(inv)
        self._check_secrets(inv, stack)
        key = inv.positional[0]
        path = _config_path(_full_key(key, project), inv.has("--path"))
        value: Any = self._config(inv, project, stack)
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                raise _fail(f"configuration key '{key}' not found for stack '{stack}'") from None
        plain = _decrypt(value)
        if inv.has("--json"):
            shown: dict[str, Any] = {"value": _config_text(plain), "secret": _has_secret(value)}
            if not isinstance(plain, str):
                shown["objectValue"] = plain
            inv.out.out(json.dumps(shown, indent=4))
        else:
            inv.out.out(_config_text(plain))

    def _set_config(self, inv: _Invocation, settings: dict[str, Any], key: str, value: Any, project: str) -> None:
        config = settings.setdefault("config", {}) or {}
        settings["config"] = config
        path = _config_path(_full_key(key, project), inv.has("--path"))
        if not inv.has("--path") or len(path) == 1:
            config[str(path[0])] = value
            return
        node: Any = config
        for part, following in itertools.pairwise(path):
            empty: Any = [] if isinstance(following, int) else {}
            if isinstance(node, list):
                assert isinstance(part, int)
                while len(node) <= part:
                    node.append(None)
                node[part] = node[part] if node[part] is not None else empty
            else:
                node.setdefault(part, empty)
            node = node[part]
        last = path[-1]
        if isinstance(node, list):
            assert isinstance(last, int)
            while len(node) <= last:
                node.append(None)
        node[last] = value

    def _cmd_config_set(self, inv: _Invocation, failure: str | None) -> None:
        _, project, stack = self._existing(inv)
        self._check_secrets(inv, stack)
        key, value = inv.positional
        settings = self._stack_settings(inv, stack)
        self._set_config(inv, settings, key, _encrypt(value) if inv.has("--secret") else value, project)
        self._save_stack_settings(inv, stack, settings)

    def _cmd_config_set_all(self, inv: _Invocation, failure: str | None) -> None:
        _, project, stack = self._existing(inv)
        self._check_secrets(inv, stack)
        settings = self._stack_settings(inv, stack)
        if inv.value("--json") is not None:
            for key, entry in json.loads(inv.value("--json") or "{}").items():
                value = entry.get("objectValue", entry.get("value"))
                self._set_config(inv, settings, key, _encrypt(value) if entry.get("secret") else value, project)
        # The order of --plaintext and --secret pairs matters as given; regroup from the raw arguments.
        words = inv.args
        for index, word in enumerate(words):
            name, eq, pair = word.partition("=")
            if name not in ("--plaintext", "--secret"):
                continue
            pair = pair if eq else words[index + 1]
            key, _, value = pair.partition("=")
            self._set_config(inv, settings, key, _encrypt(value) if name == "--secret" else value, project)
        self._save_stack_settings(inv, stack, settings)

    def _remove_config(self, inv: _Invocation, settings: dict[str, Any], key: str, project: str) -> None:
        config = settings.get("config") or {}
        path = _config_path(_full_key(key, project), inv.has("--path"))
        node: Any = config
        for part in path[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return
        with contextlib.suppress(KeyError, IndexError, TypeError):
            del node[path[-1]]
        if not config:
            settings.pop("config", None)

    def _cmd_config_rm(self, inv: _Invocation, failure: str | None) -> None:
        _, project, stack = self._existing(inv)
        settings = self._stack_settings(inv, stack)
        self._remove_config(inv, settings, inv.positional[0], project)
        self._save_stack_settings(inv, stack, settings)

    def _cmd_config_rm_all(self, inv: _Invocation, failure: str | None) -> None:
        _, project, stack = self._existing(inv)
        settings = self._stack_settings(inv, stack)
        for key in inv.positional:
            self._remove_config(inv, settings, key, project)
        self._save_stack_settings(inv, stack, settings)

    def _cmd_config_refresh(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv)
        history = backend.history(project, stack)
        if not history:
            raise _fail("no previous deployment")
        settings = self._stack_settings(inv, stack)
        settings["config"] = dict(history[0].get("config", {}))
        self._save_stack_settings(inv, stack, settings)

    # -- plugins, whoami, version ------------------------------------------------------------------------------------

    def _cmd_plugin_install(self, inv: _Invocation, failure: str | None) -> None:
        kind, name, version = [*inv.positional, "", "", ""][:3]
        now = _cli_time(time.time())
        with self._lock:
            self._plugins = [p for p in self._plugins if (p["kind"], p["name"], p["version"]) != (kind, name, version)]
            self._plugins.append(
                {"name": name, "kind": kind, "version": version, "size": 0, "installTime": now, "lastUsedTime": now}
            )

    def _cmd_plugin_ls(self, inv: _Invocation, failure: str | None) -> None:
        with self._lock:
            inv.out.out(json.dumps(self._plugins, indent=4))

    def _cmd_plugin_rm(self, inv: _Invocation, failure: str | None) -> None:
        kind, name = [*inv.positional, "", ""][:2]
        with self._lock:
            self._plugins = [p for p in self._plugins if not (p["kind"] == kind and (not name or p["name"] == name))]

    def _cmd_whoami(self, inv: _Invocation, failure: str | None) -> None:
        backend = self._backend(inv)
        if inv.has("--json"):
            inv.out.out(json.dumps({"user": _username(), "url": backend.url}, indent=4))
        else:
            inv.out.out(_username())

    def _cmd_version(self, inv: _Invocation, failure: str | None) -> None:
        inv.out.out(f"v{self.version}")

    # -- cancel and the engine operations ----------------------------------------------------------------------------

    def _cmd_cancel(self, inv: _Invocation, failure: str | None) -> None:
        backend, project, stack = self._existing(inv, inv.positional[0] if inv.positional else None)
        with self._root_mutex(backend):
            for path in backend.locks(project, stack):
                path.unlink(missing_ok=True)
        inv.out.out(f"The currently running update for '{stack}' has been canceled!")

    def _cmd_up(self, inv: _Invocation, failure: str | None) -> None:
        self._engine(inv, failure, "update", dry_run=False)

    def _cmd_preview(self, inv: _Invocation, failure: str | None) -> None:
        self._engine(inv, failure, "update", dry_run=True)

    def _cmd_refresh(self, inv: _Invocation, failure: str | None) -> None:
        self._engine(inv, failure, "refresh", dry_run=inv.has("--preview-only"))

    def _cmd_destroy(self, inv: _Invocation, failure: str | None) -> None:
        self._engine(inv, failure, "destroy", dry_run=inv.has("--preview-only"))

    def _engine(self, inv: _Invocation, failure: str | None, kind: str, dry_run: bool) -> None:
        backend, project, stack = self._existing(inv)
        if not dry_run and not inv.has("--yes") and not inv.has("--skip-preview"):
            raise _fail("--yes or --skip-preview must be passed in to proceed when running in non-interactive mode")
        self._check_secrets(inv, stack)
        with self._lock:
            crash = self._crashes[inv.command] > 0
            if crash:
                self._crashes[inv.command] -= 1
            gate = self._gates[inv.command].popleft() if self._gates[inv.command] else None
        script = _Script(fail=failure, crash=crash, gate=gate)
        config = self._config(inv, project, stack)
        if inv.command == "preview":  # the DIY backend's Preview takes no lock; refresh/destroy --preview-only do
            _Operation(self, inv, backend, project, stack, config, kind, dry_run, script).run()
            return
        with self._stack_lock(inv, backend, project, stack):
            if kind == "refresh" and not dry_run and inv.has("--clear-pending-creates"):
                latest = backend.latest(project, stack)
                if latest and latest.get("pending_operations"):
                    latest["pending_operations"] = [
                        p for p in latest["pending_operations"] if p.get("type") != "creating"
                    ]
                    backend.save(project, stack, latest)
            operation = _Operation(self, inv, backend, project, stack, config, kind, dry_run, script)
            operation.run()
        if operation.applied is not None and self.on_applied is not None:
            self.on_applied(stack, operation.applied)


_KNOWN = frozenset(
    {
        "stack select", "stack init", "stack rm", "stack ls", "stack history", "stack output", "stack export",
        "stack import", "stack tag set", "stack tag get", "stack tag rm", "stack tag ls", "config", "config get",
        "config set", "config set-all", "config rm", "config rm-all", "config refresh", "plugin install",
        "plugin ls", "plugin rm", "whoami", "version", "cancel", "up", "preview", "refresh", "destroy",
    }
)  # fmt: skip


def _salt(salt: str, passphrase: str) -> str:
    """An `encryptionsalt` shaped like the passphrase manager's (`v1:<salt>:v1:<nonce>:<check>`), bound to it."""
    check = hashlib.sha256(f"{salt}:{passphrase}".encode()).digest()
    nonce = base64.b64encode(hashlib.sha256(salt.encode()).digest()[:12]).decode()
    return f"v1:{salt}:v1:{nonce}:{base64.b64encode(check).decode()}"


def _check_passphrase(salt: str, passphrase: str) -> None:
    if salt != _salt(salt.split(":")[1], passphrase):
        raise _fail(
            "incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct passphrase or set "
            "PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase"
        )


def _manager(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The checkpoint's `secrets_providers` for a stack file's secrets settings."""
    provider = settings.get("secretsprovider")
    if provider and provider != "passphrase":
        return {"type": "cloud", "state": {"url": provider}}
    return {"type": "passphrase", "state": {"salt": settings.get("encryptionsalt", "")}}


def _env_true(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").lower() in ("1", "true")


_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _username() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "user"


def _lock_content(pid: int) -> dict[str, Any]:
    return {"pid": pid, "username": _username(), "hostname": socket.gethostname(), "timestamp": _go_time()}


def _dead_pid() -> int:
    """The pid of a process that has exited, as a killed CLI's lock file names."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
