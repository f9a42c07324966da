"""Pulumi Automation API stacks, one per adapter: open, configure, and run operations that survive trouble.

Everything here blocks (the Automation API runs the CLI as a subprocess); the
target calls it from worker threads, one operation per adapter at a time.

Trouble handled here, each with a line in the operation's log:
- another update holds the stack (`ConcurrentUpdateError`): wait and retry;
- the lock is stale (its process is gone, or it is older than any operation
  may run): `pulumi cancel`, then `refresh --clear-pending-creates`;
- this service died mid-operation (its journal file is left in the stack's
  work directory): the same recovery before the next operation;
- the engine left pending operations: the same recovery, then one retry.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from pulumi.automation import (
    CommandError,
    ConcurrentUpdateError,
    ConfigValue,
    LocalWorkspace,
    LocalWorkspaceOptions,
    ProjectBackend,
    ProjectSettings,
    PulumiCommand,
    Stack,
    StackNotFoundError,
    create_or_select_stack,
    select_stack,
)

from mcp_adapters.settings import Settings
from mcp_adapters.targets.base import OperationLog, TargetError
from mcp_adapters.targets.kubernetes._cli import (
    PLUGINS,
    azure_oidc_environment,
    find_cli,
    install_hint,
    signal_cli_processes,
    tail,
)
from mcp_adapters.targets.kubernetes._events import EngineProgress
from mcp_adapters.targets.kubernetes._locks import Journal, LockInfo

logger = logging.getLogger("mcp_adapters.kubernetes")

JOURNAL = "operation.json"
_PENDING = "pending operations"

Program = Callable[[], None]


class Stacks:
    """The adapters' stacks in one backend, with one work directory each under the state directory."""

    def __init__(
        self,
        settings: Settings,
        command_factory: Callable[[Settings], PulumiCommand] = find_cli,
        signal_cli: Callable[[str, signal.Signals], int] | None = None,
    ) -> None:
        self.settings = settings
        self.root = settings.state_dir.resolve() / "pulumi"
        self.workspaces = self.root / "workspaces"
        self._command_factory = command_factory
        self._signal_cli = signal_cli or signal_cli_processes
        self._command: PulumiCommand | None = None
        self.problem: str | None = "the Pulumi CLI has not been looked for yet"
        self.run_id = uuid.uuid4().hex  # tells this process's journals from those of one that died
        self.stopping = threading.Event()
        # Adapters whose operation timed out: no new attempt or recovery starts for them (`resume` clears it).
        self._halted: set[str] = set()
        # Adapters whose CLI had to be killed: their journal stays, so the next operation recovers the stack.
        self._killed: set[str] = set()

    # -- the CLI and its plugins ------------------------------------------------------------------

    def connect(self) -> str | None:
        """Find the CLI (again, if it was missing); returns what is wrong, or None."""
        if self._command is not None:
            return None
        try:
            self._command = self._command_factory(self.settings)
        except Exception as exc:  # FileNotFoundError, a failing `pulumi version`, InvalidVersionError
            self.problem = install_hint(self.settings.pulumi_cli_root, exc)
            return self.problem
        self.problem = None
        self.workspaces.mkdir(parents=True, exist_ok=True)
        url = self.settings.resolved_pulumi_backend_url
        if url.startswith("file://"):  # the CLI does not create a file:// backend's directory
            Path(url.removeprefix("file://").split("?", 1)[0]).mkdir(parents=True, exist_ok=True)
        return None

    def command(self) -> PulumiCommand:
        if self.connect() is not None or self._command is None:
            raise TargetError(self.problem or "the Pulumi CLI is missing", reason="PulumiCliMissing")
        return self._command

    def install_plugins(self) -> list[str]:
        """Install the provider plugins matching the installed SDKs; returns what was installed."""
        workspace = LocalWorkspace(**self._options("_plugins", None).__dict__)
        installed = []
        for plugin, package in PLUGINS.items():
            version = metadata.version(package)
            workspace.install_plugin(plugin, f"v{version}")
            installed.append(f"{plugin} v{version}")
        return installed

    # -- stacks -----------------------------------------------------------------------------------

    def stack_name(self, adapter: str) -> str:
        return f"{self.settings.pulumi_stack_prefix}{adapter}"

    def work_dir(self, adapter: str) -> Path:
        return self.workspaces / adapter

    def environment(self) -> dict[str, str]:
        env = {
            "PULUMI_BACKEND_URL": self.settings.resolved_pulumi_backend_url,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        if self.settings.pulumi_secrets_provider == "passphrase":
            if self.settings.pulumi_config_passphrase is not None:
                env["PULUMI_CONFIG_PASSPHRASE"] = self.settings.pulumi_config_passphrase.get_secret_value()
            else:
                env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(self._passphrase_file())
        env.update(azure_oidc_environment())
        return env

    def _passphrase_file(self) -> Path:
        """A generated passphrase kept next to the state (like the vault's key): losing it loses the secrets."""
        path = self.root / "passphrase"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(32))
        return path

    def _options(self, adapter: str, program: Program | None) -> LocalWorkspaceOptions:
        work_dir = self.work_dir(adapter)
        work_dir.mkdir(parents=True, exist_ok=True)
        backend = ProjectBackend(self.settings.resolved_pulumi_backend_url)
        return LocalWorkspaceOptions(
            work_dir=str(work_dir),
            pulumi_home=str(self.settings.pulumi_home) if self.settings.pulumi_home else None,
            program=program,
            env_vars=self.environment(),
            secrets_provider=self.settings.pulumi_secrets_provider,
            project_settings=ProjectSettings(name=self.settings.pulumi_project, runtime="python", backend=backend),
            pulumi_command=self.command(),
        )

    def stack_config(self) -> dict[str, ConfigValue]:
        """The config keys the service sets on every stack, from its settings (unset settings are left out)."""
        return {key: ConfigValue(value=value) for key, value in self._config_settings().items() if value}

    def _config_settings(self) -> dict[str, str | None]:
        return {
            "kubernetes:kubeconfig": str(self.settings.kubeconfig.resolve()) if self.settings.kubeconfig else None,
            "kubernetes:context": self.settings.kube_context,
            "azure-native:subscriptionId": self.settings.azure_subscription_id,
            "azure-native:tenantId": self.settings.azure_tenant_id,
            "azure-native:location": self.settings.azure_location,
        }

    def open(self, adapter: str, program: Program) -> Stack:
        """Select the adapter's stack, creating it when missing, with its configuration in place."""
        stack: Stack = self._call(
            "open",
            lambda: create_or_select_stack(
                self.stack_name(adapter), self.settings.pulumi_project, program, opts=self._options(adapter, program)
            ),
        )
        self._configure(stack, adapter)
        return stack

    def existing(self, adapter: str, program: Program) -> Stack | None:
        try:
            return select_stack(
                self.stack_name(adapter), self.settings.pulumi_project, program, opts=self._options(adapter, program)
            )
        except StackNotFoundError:
            return None
        except CommandError as exc:
            raise TargetError(f"selecting stack {self.stack_name(adapter)}: {tail(exc)}", "PulumiFailed") from exc

    def _configure(self, stack: Stack, adapter: str) -> None:
        """The stack's config as the settings say: keys set, and keys the settings no longer give removed."""
        wanted = self.stack_config()
        marker = self.work_dir(adapter) / "config.json"
        text = json.dumps({k: v.value for k, v in sorted(wanted.items())})
        if marker.exists() and marker.read_text() == text:
            return
        if wanted:
            self._call("configure", lambda: stack.set_all_config(wanted))
        present = self._call("config", stack.get_all_config)
        dropped = sorted(key for key in present if key in self._config_settings() and key not in wanted)
        if dropped:
            self._call("config rm", lambda: stack.remove_all_config(dropped))
        marker.write_text(text)

    def remove(self, stack: Stack, adapter: str) -> None:
        self._call("stack rm", lambda: stack.workspace.remove_stack(stack.name))
        shutil.rmtree(self.work_dir(adapter), ignore_errors=True)

    def discard(self, adapter: str) -> None:
        """Remove the adapter's stack if it exists (after a preview of a new adapter, whatever happened)."""
        stack = self.existing(adapter, no_program)
        if stack is not None:
            self.remove(stack, adapter)
        else:
            shutil.rmtree(self.work_dir(adapter), ignore_errors=True)

    # -- operations -------------------------------------------------------------------------------

    def up(self, stack: Stack, adapter: str, log: OperationLog) -> EngineProgress:
        packs = self.settings.pulumi_policy_packs or None
        return self._mutate(
            stack,
            adapter,
            "up",
            log,
            lambda progress: stack.up(on_event=progress, color="never", policy_packs=packs),
        )

    def refresh(self, stack: Stack, adapter: str, log: OperationLog) -> EngineProgress:
        return self._mutate(
            stack, adapter, "refresh", log, lambda progress: stack.refresh(on_event=progress, color="never")
        )

    def destroy(self, stack: Stack, adapter: str, log: OperationLog) -> EngineProgress:
        return self._mutate(
            stack, adapter, "destroy", log, lambda progress: stack.destroy(on_event=progress, color="never")
        )

    def preview(self, stack: Stack, log: OperationLog) -> EngineProgress:
        """`pulumi preview`: takes no lock and changes nothing."""
        progress = EngineProgress(log, "preview")
        packs = self.settings.pulumi_policy_packs or None
        try:
            stack.preview(on_event=progress, color="never", policy_packs=packs)
        except CommandError as exc:
            if progress.findings and not progress.errors:
                return progress  # refused by a mandatory policy: the findings say why
            raise TargetError(progress.error_message(tail(exc)), reason="PreviewFailed") from exc
        except RuntimeError as exc:  # the SDK's own: the CLI ended without a summary event
            raise TargetError(f"pulumi preview ended without a result: {exc}", reason="PreviewFailed") from exc
        return progress

    def unfinished(self, adapter: str) -> Journal | None:
        """The journal of an operation a previous run of the service started and never finished."""
        journal = Journal.read(self.work_dir(adapter) / JOURNAL)
        return journal if journal is not None and journal.run != self.run_id else None

    def interrupt(self, adapter: str, sig: signal.Signals = signal.SIGINT) -> int:
        """Stop the operation on this adapter's stack: no new attempt, and its CLI signalled (SIGINT: finish
        in-flight steps and save the state, then stop; SIGKILL: at once, leaving the stack to be recovered)."""
        self._halted.add(adapter)
        if sig == signal.SIGKILL:
            self._killed.add(adapter)
        return self._signal_cli(self.stack_name(adapter), sig)

    def resume(self, adapter: str) -> None:
        """A new operation on this adapter may run (an earlier one may have been interrupted)."""
        self._halted.discard(adapter)

    def _mutate(
        self, stack: Stack, adapter: str, verb: str, log: OperationLog, run: Callable[[EngineProgress], Any]
    ) -> EngineProgress:
        journal_path = self.work_dir(adapter) / JOURNAL
        left = self.unfinished(adapter)
        if left is not None:
            why = f"the {left.verb} started {left.started} by pid {left.pid} on {left.host} never finished"
            self._recover(stack, log, why)
        journal = Journal(verb, self.run_id, os.getpid(), socket.gethostname(), datetime.now(UTC).isoformat())
        journal_path.write_text(json.dumps(asdict(journal)))
        try:
            return self._with_retries(stack, adapter, verb, log, run)
        finally:
            if adapter in self._killed:
                # A killed CLI may have left the lock and pending operations: recover before the next operation.
                self._killed.discard(adapter)
                journal_path.write_text(json.dumps(asdict(replace(journal, run="killed"))))
            else:
                journal_path.unlink(missing_ok=True)

    def _with_retries(
        self, stack: Stack, adapter: str, verb: str, log: OperationLog, run: Callable[[EngineProgress], Any]
    ) -> EngineProgress:
        retries = self.settings.pulumi_conflict_retries
        wait = self.settings.pulumi_conflict_wait_seconds
        recovered = False
        for attempt in range(retries + 1):
            if adapter in self._halted:
                raise TargetError(f"{verb} on {stack.name} was interrupted: no further attempt", "Interrupted")
            progress = EngineProgress(log, verb)
            try:
                run(progress)
            except ConcurrentUpdateError as exc:
                lock = LockInfo.parse(str(exc))
                held = lock.describe() if lock else "another update"
                stale_after = timedelta(seconds=self.settings.pulumi_stale_lock_seconds)
                stale = lock.stale(datetime.now(UTC), stale_after) if lock is not None else None
                if stale is not None and not recovered and adapter not in self._halted:
                    self._recover(stack, log, f"{held} is stale: {stale}")
                    recovered = True
                    continue
                if attempt == retries:
                    raise TargetError(
                        f"stack {stack.name} stayed locked by {held} through {retries + 1} attempts; it is tried again "
                        f"later. If no update runs there, clear it with `pulumi cancel --stack {stack.name}`",
                        reason="StackLocked",
                    ) from exc
                log.write(f"stack {stack.name} is busy ({held}): retrying in {wait:.0f}s ({attempt + 1}/{retries})")
                if self.stopping.wait(wait):
                    raise TargetError(f"shutting down while {stack.name} was locked", "ShuttingDown") from exc
            except CommandError as exc:
                if _PENDING in str(exc) and not recovered and adapter not in self._halted:
                    self._recover(stack, log, "the engine reports pending operations from an interrupted update")
                    recovered = True
                    continue
                raise TargetError(progress.error_message(tail(exc)), reason="PulumiFailed") from exc
            else:
                return progress
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _recover(self, stack: Stack, log: OperationLog, why: str) -> None:
        log.write(f"recovering stack {stack.name}: {why}; cancelling its lock and refreshing its state")
        try:
            stack.cancel()
        except CommandError as exc:  # nothing to cancel: the refresh below is still worth doing
            log.write(f"cancel: {tail(exc)}")
        progress = EngineProgress(log, "refresh")
        try:
            stack.refresh(on_event=progress, color="never", clear_pending_creates=True)
        except CommandError as exc:
            raise TargetError(
                f"recovering {stack.name} failed: {progress.error_message(tail(exc))}", "RecoveryFailed"
            ) from exc

    def _call(self, what: str, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except CommandError as exc:
            raise TargetError(f"pulumi {what} failed: {tail(exc)}", reason="PulumiFailed") from exc


def no_program() -> None:
    """The program of a stack opened only to be destroyed or removed: it declares nothing."""
