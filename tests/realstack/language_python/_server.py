"""The `LanguageRuntime` gRPC service of the stand-in host, and its `main`: serve, print the port, wait.

The engine starts `pulumi-language-python <engine address>`, reads the port from the first line of stdout and
then calls Handshake, GetPluginInfo, GetRequiredPackages and Run (a program), or RunPlugin (a policy pack).
Whatever a program prints goes to our stdout and stderr, which the engine reads as the plugin's output; a
plugin's output is sent back in the RunPlugin stream instead, where the engine looks for the plugin's port.
Methods not defined here answer UNIMPLEMENTED (the servicer's default), which the engine tolerates for all of
Template, RuntimeOptionsPrompts, Cancel and the code generators.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any, NoReturn

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format  # type: ignore[import-untyped]
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

from . import _packages, _process
from ._venv import HostError, PythonEnv

# The engine release this host stands in for; the engine records it as the language plugin's version.
VERSION = "3.274.1"
EXEC = Path(__file__).with_name("_exec.py")
USER_ACTIONABLE_EXIT = 32  # the program already showed the error: the engine "bails" without adding one
HEALTH_INTERVAL = 10.0  # the real host checks every 5 minutes; an orphaned stand-in should go sooner


def _abort(context: grpc.ServicerContext, error: HostError) -> NoReturn:
    context.abort(grpc.StatusCode.UNKNOWN, str(error))
    raise AssertionError("unreachable: abort raises")


def _env(info: language_pb2.ProgramInfo, context: grpc.ServicerContext, *, plugin: bool = False) -> PythonEnv:
    options: dict[str, Any] = json_format.MessageToDict(info.options)
    try:
        env = PythonEnv.resolve(info.root_directory, info.program_directory, options, plugin=plugin)
        env.validate()
    except HostError as error:
        _abort(context, error)
    return env


def _exec_arguments(request: language_pb2.RunRequest, engine: str) -> list[str]:
    flags = {
        "monitor": request.monitor_address,
        "engine": engine,
        "project": request.project,
        "root_directory": request.info.root_directory,
        "stack": request.stack,
        "pwd": request.pwd,
        "dry_run": "true" if request.dryRun else "false",
        "parallel": str(request.parallel),
        "organization": request.organization,
    }
    arguments = [item for name, value in flags.items() if value for item in (f"--{name}", value)]
    return [*arguments, request.info.entry_point or ".", *request.args]


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """One host per engine connection; the engine starts a new process for each plugin context it opens."""

    def __init__(self, engine_address: str, on_engine_gone: threading.Event) -> None:
        self._engine = engine_address
        self._engine_gone = on_engine_gone

    def Handshake(self, request: language_pb2.LanguageHandshakeRequest, context: grpc.ServicerContext) -> Any:
        # Only a host the engine attaches to (PULUMI_DEBUG_LANGUAGES) is called here; one it starts gets argv.
        if request.engine_address != self._engine:  # main() already watches the one it was started with
            self._engine = request.engine_address
            _watch_engine(self._engine, self._engine_gone)
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> Any:
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetRequiredPackages(
        self, request: language_pb2.GetRequiredPackagesRequest, context: grpc.ServicerContext
    ) -> Any:
        env = _env(request.info, context)
        dependencies = [
            plugin_pb2.PackageDependency(
                name=plugin.name,
                kind="resource",
                version=plugin.version,
                server=plugin.server,
                parameterization=(
                    plugin_pb2.PackageParameterization(
                        name=plugin.parameterization.name,
                        version=plugin.parameterization.version,
                        value=plugin.parameterization.value,
                    )
                    if plugin.parameterization
                    else None
                ),
            )
            for plugin in _packages.required_plugins(_packages.installed(env.site_packages()))
        ]
        return language_pb2.GetRequiredPackagesResponse(packages=dependencies)

    def GetRequiredPlugins(self, request: language_pb2.GetRequiredPluginsRequest, context: grpc.ServicerContext) -> Any:
        env = _env(request.info, context)
        plugins = [
            plugin_pb2.PluginDependency(name=plugin.name, kind="resource", version=plugin.version, server=plugin.server)
            for plugin in _packages.required_plugins(_packages.installed(env.site_packages()))
        ]
        return language_pb2.GetRequiredPluginsResponse(plugins=plugins)

    def Run(self, request: language_pb2.RunRequest, context: grpc.ServicerContext) -> Any:
        if not self._engine:
            _abort(context, HostError("when debugging or running explicitly, must call Handshake before Run"))
        if request.attach_debugger:
            return language_pb2.RunResponse(error="this stand-in language host cannot attach a debugger")
        env = _env(request.info, context)
        environ = env.environ(os.environ)
        if request.config:
            environ["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        sys.stdout.flush()
        sys.stderr.flush()
        # stdout and stderr are ours: the engine reads them as this plugin's output and shows them as the program's.
        process = subprocess.Popen(
            [env.python, str(EXEC), *_exec_arguments(request, self._engine)], cwd=env.cwd, env=environ
        )
        context.add_callback(lambda: _process.stop(process))
        code = process.wait()
        if code == 0:
            return language_pb2.RunResponse()
        if code == USER_ACTIONABLE_EXIT:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code if code > 0 else -1}")

    def RunPlugin(
        self, request: language_pb2.RunPluginRequest, context: grpc.ServicerContext
    ) -> Iterator[language_pb2.RunPluginResponse]:
        env = _env(request.info, context, plugin=True)
        if not Path(request.info.root_directory, "__main__.py").exists():
            _abort(context, HostError("this stand-in language host runs only plugins with a __main__.py"))
        # The engine's environment is applied last, over the activated one, as Go's exec keeps the last duplicate.
        environ = env.environ(os.environ) | dict(entry.split("=", 1) for entry in request.env if "=" in entry)
        process = subprocess.Popen(
            [env.python, request.info.program_directory, *request.args],
            cwd=request.pwd or None,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        context.add_callback(lambda: _process.stop(process))
        for stream, chunk in _process.output(process):
            if stream == "stdout":
                yield language_pb2.RunPluginResponse(stdout=chunk)
            else:
                yield language_pb2.RunPluginResponse(stderr=chunk)
        yield language_pb2.RunPluginResponse(exitcode=process.wait())

    def InstallDependencies(
        self, request: language_pb2.InstallDependenciesRequest, context: grpc.ServicerContext
    ) -> Iterator[language_pb2.InstallDependenciesResponse]:
        message = (
            f"Not installing dependencies for {request.info.program_directory}: this stand-in language host "
            "leaves the environment to `uv sync --all-packages` at the repository root.\n"
        )
        yield language_pb2.InstallDependenciesResponse(stdout=message.encode())

    def GetProgramDependencies(
        self, request: language_pb2.GetProgramDependenciesRequest, context: grpc.ServicerContext
    ) -> Any:
        packages = _packages.installed(_env(request.info, context).site_packages())
        direct = (
            None
            if request.transitiveDependencies
            else _packages.direct_dependency_names(Path(request.info.program_directory))
        )
        return language_pb2.GetProgramDependenciesResponse(
            dependencies=[
                language_pb2.DependencyInfo(name=package.name, version=package.version)
                for package in packages
                if direct is None or package.name in direct
            ]
        )

    def About(self, request: language_pb2.AboutRequest, context: grpc.ServicerContext) -> Any:
        env = _env(request.info, context)
        probe = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"
        completed = subprocess.run(
            [env.python, "-c", probe], capture_output=True, text=True, check=False, env=env.environ(os.environ)
        )
        if completed.returncode != 0:
            _abort(context, HostError(f"failed to run {env.python}: {completed.stderr.strip()}"))
        executable, version = completed.stdout.split()
        return language_pb2.AboutResponse(executable=executable, version=version)


def _watch_engine(address: str, gone: threading.Event) -> None:
    """Sets `gone` once the engine stops answering its health check (UNIMPLEMENTED counts as alive)."""
    channel = grpc.insecure_channel(address)
    check = channel.unary_unary("/grpc.health.v1.Health/Check", lambda b: b, lambda b: b)

    def watch() -> None:
        while not gone.wait(HEALTH_INTERVAL):
            try:
                check(b"", timeout=HEALTH_INTERVAL)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                    gone.set()
        channel.close()

    threading.Thread(target=watch, daemon=True, name="engine-health").start()


def main(argv: list[str]) -> int:
    # The engine passes its address as the last (only) positional argument; older ones add Go-style flags first.
    engine = next((arg for arg in reversed(argv) if not arg.startswith("-")), "")
    engine_gone = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="language-host"))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageHost(engine, engine_gone), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    if engine:
        _watch_engine(engine, engine_gone)
    with contextlib.suppress(KeyboardInterrupt):  # the engine interrupts its plugins to stop them
        engine_gone.wait()
    server.stop(grace=1).wait()
    return 0
