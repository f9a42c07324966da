"""`python -m tests.realstack.azure_native ENGINE_ADDRESS`: serve the stand-in provider, print its port."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import grpc  # type: ignore[import-untyped]
from pulumi.runtime.proto import provider_pb2_grpc

from tests.realstack.azure_native._cloud import Cloud
from tests.realstack.azure_native._env import CLOUD_ENV
from tests.realstack.azure_native._provider import AzureNativeStandIn

_MESSAGE_LIMIT = 400 * 1024 * 1024  # the engine's own limit for plugin messages
_WATCH_SECONDS = 0.2


def main() -> int:
    # The engine passes its address (and logging flags); like the real provider we need neither to serve.
    root = os.environ.get(CLOUD_ENV)
    servicer = AzureNativeStandIn(Cloud(Path(root)) if root else None)
    options = [("grpc.max_receive_message_length", _MESSAGE_LIMIT), ("grpc.max_send_message_length", _MESSAGE_LIMIT)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=options)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()

    stopped = threading.Event()

    def stop(grace: float) -> None:
        stopped.set()
        servicer.cancelled.set()
        server.stop(grace=grace)

    signal.signal(signal.SIGTERM, lambda signum, frame: stop(1.0))
    signal.signal(signal.SIGINT, lambda signum, frame: stop(1.0))
    threading.Thread(target=_watch_engine, args=(stopped, stop), daemon=True).start()
    # The engine reads the port from the first line of the plugin's stdout.
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    server.wait_for_termination()
    return 0


def _watch_engine(stopped: threading.Event, stop: Callable[[float], None]) -> None:
    """Exit when the engine's process is gone (killed): real providers health-check the engine for the same end.

    Without it a plugin whose CLI was SIGKILLed would live on, orphaned (a held Create for ten minutes).
    """
    engine = os.getppid()
    while not stopped.wait(_WATCH_SECONDS):
        if os.getppid() != engine:
            stop(0.0)
            return


if __name__ == "__main__":
    sys.exit(main())
