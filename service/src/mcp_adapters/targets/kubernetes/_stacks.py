"""Pulumi Automation API stacks, one per adapter: open, configure, and run operations that survive trouble.

Everything here blocks (the Automation API runs the CLI as a subprocess); the
target calls it from worker threads, one operation per adapter at a time.

Trouble handled here, each with a line in the operation's log:
- another update holds the stack (`ConcurrentUpdateError`): wait and retry;
- every lock is stale (its process is gone, or it is older than any operation
  may run): `pulumi cancel`, then a refresh of what was left pending;
- this service died mid-operation (its journal file is left in the stack's
  work directory): the same recovery before the next operation;
- an operation fails after the engine warned of operations an interrupted one
  left pending: that refresh (no `cancel`: any lock there now is someone
  else's), then one retry.

That refresh first moves the pending creates whose provider id is known into
the state (`_adopt`), so it keeps what exists instead of creating it again, and
clears only the others (`--clear-pending-creates`).

After each operation a file:// backend's history of the stack is pruned to
`PULUMI_KEEP_HISTORY` entries.
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

from mcp_infra.settings import PlatformSettings
from mcp_policies.crossguard import CONFIG_ENV as POLICY_CONFIG_ENV
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

from mcp_adapters import keyfile
from mcp_adapters.settings import Settings
from mcp_adapters.targets.base import OperationLog, TargetError
from mcp_adapters.targets.kubernetes import _history
from mcp_adapters.targets.kubernetes._adopt import adopt_pending_creates
from mcp_adapters.targets.kubernetes._cli import (
    PLUGINS,
    azure_workload_identity_environment,
    find_cli,
    install_hint,
    signal_cli_processes,
    tail,
)
from mcp_adapters.targets.kubernetes._events import EngineProgress
from mcp_adapters.targets.kubernetes._locks import Journal, LockInfo, all_stale
from mcp_adapters.targets.kubernetes._plugins import link_bundled, pulumi_home

logger = logging.getLogger("mcp_adapters.kubernetes")

JOURNAL = "operation.json"

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
        self._policy_config: Path | None = None

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
        if (backend := self._file_backend()) is not None:  # the CLI does not create a file:// backend's directory
            backend.mkdir(parents=True, exist_ok=True)
        return None

    def _file_backend(self) -> Path | None:
        """The directory of a file:// backend; None for any other backend."""
        url = self.settings.resolved_pulumi_backend_url
        return Path(url.removeprefix("file://").split("?", 1)[0]) if url.startswith("file://") else None

    def command(self) -> PulumiCommand:
        if self.connect() is not None or self._command is None:
            raise TargetError(self.problem or "the Pulumi CLI is missing", reason="PulumiCliMissing")
        return self._command

    def install_plugins(self) -> list[str]:
        """The provider plugins matching the installed SDKs: those in PULUMI_PLUGINS_DIR linked into PULUMI_HOME,
        the others downloaded (when PULUMI_INSTALL_PLUGINS); returns what is ready."""
        bundle, home = self.settings.pulumi_plugins_dir, pulumi_home(self.settings)
        ready: list[str] = []
        workspace: LocalWorkspace | None = None
        for plugin, package in PLUGINS.items():
            version = metadata.version(package)
            if bundle is not None and link_bundled(bundle, home, plugin, version):
                ready.append(f"{plugin} v{version} (from {bundle})")
            elif self.settings.pulumi_install_plugins:
                workspace = workspace or LocalWorkspace(**self._options("_plugins", None).__dict__)
                workspace.install_plugin(plugin, f"v{version}")
                ready.append(f"{plugin} v{version}")
        return ready

    def write_policy_config(self, platform: PlatformSettings) -> None:
        """The platform settings the policy packs check against (their MCP_ADAPTERS_POLICY_CONFIG): the service's,
        unless the operator gave the packs a config of their own."""
        if not self.settings.pulumi_policy_packs or POLICY_CONFIG_ENV in os.environ:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "policy-config.json"
        path.write_text(json.dumps({"platform": platform.model_dump(mode="json", by_alias=True)}))
        self._policy_config = path

    # -- stacks -----------------------------------------------------------------------------------

    def stack_name(self, adapter: str) -> str:
        return f"{self.settings.pulumi_stack_prefix}{adapter}"

    def work_dir(self, adapter: str) -> Path:
        return self.workspaces / adapter

    def environment(self) -> dict[str, str]:
        env = {
            "PULUMI_BACKEND_URL": self.settings.resolved_pulumi_backend_url,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            # The secrets provider is given to `stack init` only and kept in Pulumi.<stack>.yaml, in this pod's work
            # directory. A pod without that file (a new replica, a lost emptyDir) uses the secrets manager the
            # stack's state records (`stack init` records it), rather than a new passphrase one it has no key for.
            "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true",
            # A DIY backend's update history is pruned (`_history`); the extra copies these make would not be.
            "PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS": "true",
            "PULUMI_DIY_BACKEND_RETAIN_CHECKPOINTS": "false",
        }
        if self._policy_config is not None:
            env[POLICY_CONFIG_ENV] = str(self._policy_config)
        if self.settings.pulumi_secrets_provider == "passphrase":
            if self.settings.pulumi_config_passphrase is not None:
                env["PULUMI_CONFIG_PASSPHRASE"] = self.settings.pulumi_config_passphrase.get_secret_value()
            else:
                env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(self._passphrase_file())
        env.update(azure_workload_identity_environment())
        return env

    def _passphrase_file(self) -> Path:
        """A generated passphrase kept next to the state (like the vault's key): losing it loses the secrets."""
        path = self.root / "passphrase"
        keyfile.read_or_create(path, lambda: secrets.token_urlsafe(32).encode())
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
            raise TargetError(
                f"selecting stack {self.stack_name(adapter)}: {tail(exc)}", reason="PulumiFailed"
            ) from exc

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
            progress.settle()
            if progress.blocked_by_policy():
                return progress  # refused by a mandatory policy: the findings say why
            raise TargetError(progress.error_message(tail(exc)), reason="PreviewFailed") from exc
        except RuntimeError as exc:
            # The SDK's own "summary event never found": the CLI succeeded, but the SDK looked before the
            # stream ended. The events still reach us.
            if not progress.settle():
                raise TargetError(f"pulumi preview ended without a result: {exc}", reason="PreviewFailed") from exc
            return progress
        progress.settle()
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
            self._prune_history(stack.name)

    def _prune_history(self, stack_name: str) -> None:
        backend = self._file_backend()
        if backend is None:
            return
        try:
            _history.prune(backend, self.settings.pulumi_project, stack_name, self.settings.pulumi_keep_history)
        except OSError as exc:  # the next operation prunes again
            logger.warning("pruning the history of stack %s: %s", stack_name, exc)

    def _with_retries(
        self, stack: Stack, adapter: str, verb: str, log: OperationLog, run: Callable[[EngineProgress], Any]
    ) -> EngineProgress:
        retries = self.settings.pulumi_conflict_retries
        wait = self.settings.pulumi_conflict_wait_seconds
        attempt = 0  # attempts that met a live lock; the one retry after a repair is not counted
        repaired = False
        while True:
            if adapter in self._halted:
                raise TargetError(f"{verb} on {stack.name} was interrupted: no further attempt", reason="Interrupted")
            progress = EngineProgress(log, verb)
            try:
                run(progress)
                progress.settle()
            except ConcurrentUpdateError as exc:
                locks = LockInfo.parse(str(exc))
                held = ", ".join(lock.describe() for lock in locks) or "another update"
                stale_after = timedelta(seconds=self.settings.pulumi_stale_lock_seconds)
                stale = all_stale(locks, datetime.now(UTC), stale_after)
                if stale is not None and not repaired and adapter not in self._halted:
                    self._recover(stack, log, stale)
                    repaired = True
                    continue
                if attempt == retries:
                    raise TargetError(
                        f"stack {stack.name} stayed locked by {held} through {retries + 1} attempts; it is tried again "
                        f"later. If no update runs there, clear it with `pulumi cancel --stack {stack.name}`",
                        reason="StackLocked",
                    ) from exc
                attempt += 1
                log.write(f"stack {stack.name} is busy ({held}): retrying in {wait:.0f}s ({attempt}/{retries})")
                if self.stopping.wait(wait):
                    raise TargetError(f"shutting down while {stack.name} was locked", reason="ShuttingDown") from exc
            except CommandError as exc:
                if adapter not in self._halted:  # a CLI we interrupted or killed sends no more events
                    progress.settle()  # the warning and the errors it reads may trail the command's failure
                if progress.pending_operations and not repaired and adapter not in self._halted:
                    self._clear_pending(stack, log, progress.pending_operations)
                    repaired = True
                    continue
                raise TargetError(progress.error_message(tail(exc)), reason="PulumiFailed") from exc
            else:
                return progress

    def _clear_pending(self, stack: Stack, log: OperationLog, count: int) -> None:
        """What the engine's pending-operations warning advises: `refresh`, dropping the pending creates.

        No `cancel`: the failed operation released its own lock, so a lock there now is another one's, live.
        """
        log.write(
            f"the engine reported {count} operation(s) an interrupted update left pending on {stack.name}: "
            "refreshing them, then trying once more"
        )
        self._refresh_pending(stack, log, "clearing the pending operations of")

    def _recover(self, stack: Stack, log: OperationLog, why: str) -> None:
        log.write(f"recovering stack {stack.name}: {why}; cancelling its lock and refreshing its state")
        try:
            stack.cancel()
        except CommandError as exc:  # nothing to cancel: the refresh below is still worth doing
            log.write(f"cancel: {tail(exc)}")
        self._refresh_pending(stack, log, "recovering")

    def _refresh_pending(self, stack: Stack, log: OperationLog, doing: str) -> None:
        """A refresh that settles what an interrupted update left pending: adopted where it can be read back
        (see _adopt), cleared otherwise."""
        self._adopt_pending_creates(stack, log)
        progress = EngineProgress(log, "refresh")
        try:
            stack.refresh(on_event=progress, color="never", clear_pending_creates=True)
        except CommandError as exc:
            progress.settle()
            raise TargetError(
                f"{doing} {stack.name} failed: {progress.error_message(tail(exc))}", reason="RecoveryFailed"
            ) from exc
        progress.settle()

    def _adopt_pending_creates(self, stack: Stack, log: OperationLog) -> None:
        """Pending creates whose id is known join the state for the refresh to read back; it clears the others."""
        exported = self._call("stack export", stack.export_stack)
        subscription = self.settings.azure_subscription_id or os.environ.get("ARM_SUBSCRIPTION_ID")
        if not exported.deployment:  # a stack that never ran an update has no state to adopt into
            return
        adopted = adopt_pending_creates(exported.deployment, subscription)
        if adopted:
            self._call("stack import", lambda: stack.import_stack(exported))
            names = ", ".join(urn.rsplit("::", 1)[-1] for urn in adopted)
            log.write(f"adopting {len(adopted)} resource(s) an interrupted update may have created: {names}")

    def _call(self, what: str, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except CommandError as exc:
            raise TargetError(f"pulumi {what} failed: {tail(exc)}", reason="PulumiFailed") from exc


def no_program() -> None:
    """The program of a stack opened only to be destroyed or removed: it declares nothing."""
