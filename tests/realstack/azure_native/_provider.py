"""The ResourceProvider gRPC service: what the Pulumi engine calls on the `azure-native` plugin.

It answers like the real provider (pulumi-azure-native 3.29.0) where our product
can tell the difference: no `Handshake` (the engine falls back to `Configure`),
`Configure` returns `supportsPreview` and autonaming support but accepts neither
secrets nor resource references, `CheckConfig` passes the config through and
`DiffConfig` leaves the decision to the engine, `Check` fills auto-names,
`location` and `azureApiVersion` and reports `missing required property 'x'`,
`Create` refuses an id that already exists, `Read` answers an empty id for a
resource that is gone. Every call is logged to `<cloud>/calls.jsonl`.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from tests.realstack.azure_native._arm import GET_MANAGED_CLUSTER, ProviderError, group_id, managed_cluster
from tests.realstack.azure_native._check import autoname, default_location, diff
from tests.realstack.azure_native._cloud import Cloud, Record
from tests.realstack.azure_native._env import CLOUD_ENV, HOLD_CREATE_ENV, VERSION
from tests.realstack.azure_native._types import CREATE_BEFORE_DELETE, TYPES, ResourceType, schema
from tests.realstack.azure_native._values import from_struct, to_struct

HOLD_LIMIT_SECONDS = 600.0
HOLD_POLL_SECONDS = 0.05

_Method = TypeVar("_Method", bound=Callable[..., Any])


def _rpc(method: _Method) -> _Method:
    """Logs the call to the cloud's `calls.jsonl` and turns a ProviderError into the gRPC error the engine shows."""

    @functools.wraps(method)
    def call(self: AzureNativeStandIn, request: Any, context: Any) -> Any:
        self.log(method.__name__, request)
        try:
            return method(self, request, context)
        except ProviderError as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
            raise  # abort raises; this only tells the type checker

    return cast(_Method, call)


def _token(urn: str, given: str) -> str:
    if given:
        return given
    parts = urn.split("::")
    return parts[2].split("$")[-1] if len(parts) > 3 else ""


def _kind(urn: str, given: str) -> ResourceType:
    token = _token(urn, given)
    kind = TYPES.get(token)
    if kind is None:
        raise ProviderError(f"Resource type {token} not found")
    return kind


class AzureNativeStandIn(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, cloud: Cloud | None) -> None:
        self.cloud = cloud
        self.subscription: str | None = None
        self.location: str | None = None
        self.cancelled = threading.Event()

    def log(self, method: str, request: Any) -> None:
        if self.cloud is None:
            return
        entry = {"method": method, "pid": os.getpid(), "at": time.time()}
        for field in ("urn", "type", "id", "tok", "preview"):
            value = getattr(request, field, None)
            if value:
                entry[field] = value
        self.cloud.log_call(entry)

    def configured(self) -> tuple[Cloud, str]:
        if self.cloud is None:
            raise ProviderError(f"{CLOUD_ENV} is not set: the stand-in azure-native provider has no cloud")
        if self.subscription is None:
            raise ProviderError("the azure-native provider is not configured")
        return self.cloud, self.subscription

    # Plugin and provider configuration.

    @_rpc
    def GetPluginInfo(self, request: empty_pb2.Empty, context: Any) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=VERSION)

    @_rpc
    def Handshake(self, request: provider_pb2.ProviderHandshakeRequest, context: Any) -> Any:
        # The real provider does not implement it; the engine then configures through `Configure`.
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")

    @_rpc
    def GetSchema(self, request: provider_pb2.GetSchemaRequest, context: Any) -> provider_pb2.GetSchemaResponse:
        if request.version != 0:
            raise ProviderError(f"unsupported schema version {request.version}")
        return provider_pb2.GetSchemaResponse(schema=json.dumps(schema()))

    @_rpc
    def CheckConfig(self, request: provider_pb2.CheckRequest, context: Any) -> provider_pb2.CheckResponse:
        return provider_pb2.CheckResponse(inputs=request.news)

    @_rpc
    def DiffConfig(self, request: provider_pb2.DiffRequest, context: Any) -> provider_pb2.DiffResponse:
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_UNKNOWN)

    @_rpc
    def Configure(self, request: provider_pb2.ConfigureRequest, context: Any) -> provider_pb2.ConfigureResponse:
        if not request.sends_old_inputs or not request.sends_old_inputs_to_delete:
            raise ProviderError("Azure Native provider requires Pulumi CLI v3.74.0 or later")
        config = {key.removeprefix("azure-native:config:"): value for key, value in request.variables.items()}
        subscription = config.get("subscriptionId") or os.environ.get("ARM_SUBSCRIPTION_ID")
        if self.cloud is None:
            raise ProviderError(f"{CLOUD_ENV} is not set: the stand-in azure-native provider has no cloud")
        if not subscription:
            raise ProviderError(
                "A Subscription ID must be configured: set 'azure-native:subscriptionId' or ARM_SUBSCRIPTION_ID "
                "(the stand-in provider cannot ask the Azure CLI for one)."
            )
        self.subscription = subscription
        self.location = config.get("location") or os.environ.get("ARM_LOCATION") or None
        return provider_pb2.ConfigureResponse(
            acceptSecrets=False, acceptResources=False, supportsPreview=True, supports_autonaming_configuration=True
        )

    @_rpc
    def Cancel(self, request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
        self.cancelled.set()
        return empty_pb2.Empty()

    # Resources.

    @_rpc
    def Check(self, request: provider_pb2.CheckRequest, context: Any) -> provider_pb2.CheckResponse:
        kind = _kind(request.urn, request.type)
        olds, inputs = from_struct(request.olds), from_struct(request.news)
        autoname(kind, request, olds, inputs)
        default_location(kind, olds, inputs, self.location, self._group_location)
        inputs.setdefault("azureApiVersion", kind.api_version)
        failures = [provider_pb2.CheckFailure(reason=reason) for reason in kind.failures(inputs)]
        return provider_pb2.CheckResponse(inputs=to_struct(inputs), failures=failures)

    @_rpc
    def Diff(self, request: provider_pb2.DiffRequest, context: Any) -> provider_pb2.DiffResponse:
        kind = _kind(request.urn, request.type)
        olds = from_struct(request.old_inputs if request.HasField("old_inputs") else request.olds)
        return diff(kind, olds, from_struct(request.news))

    @_rpc
    def Create(self, request: provider_pb2.CreateRequest, context: Any) -> provider_pb2.CreateResponse:
        kind = _kind(request.urn, request.type)
        inputs = _body(from_struct(request.properties))
        if request.preview:
            return provider_pb2.CreateResponse(properties=to_struct(kind.preview_outputs(inputs, {})))
        cloud, subscription = self.configured()
        with cloud.locked():
            resource_id = kind.resource_id(subscription, inputs)
            if cloud.get(resource_id) is not None:
                # The real provider's words (crud.CanCreate): it reads before it writes.
                raise ProviderError(f"cannot create already existing resource '{resource_id}'")
            kind.check_cloud(cloud, subscription, inputs, resource_id)
            record: Record = {"id": resource_id, "type": kind.arm_type, "token": kind.token, "inputs": inputs}
            record["generated"] = kind.generate(cloud, subscription, None)
            cloud.put(record)
        if os.environ.get(HOLD_CREATE_ENV) == kind.token:
            self._hold(cloud, resource_id)
        return provider_pb2.CreateResponse(id=resource_id, properties=to_struct(kind.outputs(record)))

    @_rpc
    def Read(self, request: provider_pb2.ReadRequest, context: Any) -> provider_pb2.ReadResponse:
        kind = _kind(request.urn, request.type)
        cloud, _ = self.configured()
        record = cloud.get(request.id)
        if record is None or record.get("token") != kind.token:
            return provider_pb2.ReadResponse(id="")  # gone: the engine drops it from the state
        inputs = dict(record["inputs"])
        old_inputs = from_struct(request.inputs)
        if CREATE_BEFORE_DELETE in old_inputs:
            inputs[CREATE_BEFORE_DELETE] = old_inputs[CREATE_BEFORE_DELETE]
        return provider_pb2.ReadResponse(
            id=request.id, properties=to_struct(kind.outputs(record)), inputs=to_struct(inputs)
        )

    @_rpc
    def Update(self, request: provider_pb2.UpdateRequest, context: Any) -> provider_pb2.UpdateResponse:
        kind = _kind(request.urn, request.type)
        inputs = _body(from_struct(request.news))
        if request.preview:
            return provider_pb2.UpdateResponse(
                properties=to_struct(kind.preview_outputs(inputs, from_struct(request.olds)))
            )
        cloud, subscription = self.configured()
        with cloud.locked():
            previous = cloud.get(request.id)
            kind.check_cloud(cloud, subscription, inputs, request.id)
            # A PUT is an upsert: a resource deleted behind Pulumi's back comes back with new generated values.
            generated = kind.generate(cloud, subscription, previous["generated"] if previous else None)
            record: Record = {"id": request.id, "type": kind.arm_type, "token": kind.token, "inputs": inputs}
            record["generated"] = generated
            cloud.put(record)
        return provider_pb2.UpdateResponse(properties=to_struct(kind.outputs(record)))

    @_rpc
    def Delete(self, request: provider_pb2.DeleteRequest, context: Any) -> empty_pb2.Empty:
        cloud, _ = self.configured()
        with cloud.locked():
            cloud.delete(request.id)
            # Azure deletes an identity's federated credentials with it.
            prefix = request.id.rstrip("/").lower() + "/"
            for record in cloud.all():
                if str(record["id"]).lower().startswith(prefix):
                    cloud.delete(record["id"])
        return empty_pb2.Empty()

    # Functions.

    @_rpc
    def Invoke(self, request: provider_pb2.InvokeRequest, context: Any) -> provider_pb2.InvokeResponse:
        if request.tok != GET_MANAGED_CLUSTER:
            raise ProviderError(f"Invoke type {request.tok} not found")
        args = from_struct(request.args)
        missing = [name for name in ("resourceGroupName", "resourceName") if name not in args]
        if missing:
            failures = [provider_pb2.CheckFailure(reason=f"missing required property '{name}'") for name in missing]
            return provider_pb2.InvokeResponse(failures=failures)
        cloud, subscription = self.configured()
        cluster = managed_cluster(cloud, subscription, str(args["resourceGroupName"]), str(args["resourceName"]))
        return provider_pb2.InvokeResponse(**{"return": to_struct(cluster)})

    # Helpers.

    def _group_location(self, group: str) -> str | None:
        if self.cloud is None or self.subscription is None:
            return None
        record = self.cloud.get(group_id(self.subscription, group))
        return None if record is None else str(record["inputs"]["location"])

    def _hold(self, cloud: Cloud, resource_id: str) -> None:
        """The crash-test hook: the resource exists in the cloud, the engine has not heard of it yet.

        `held/<name>` exists exactly while the Create waits; a release left from an earlier hold does not count."""
        name = resource_id.rsplit("/", 1)[-1]
        release, marker = cloud.release_dir / name, cloud.held_dir / name
        release.unlink(missing_ok=True)
        # The engine runs inside the Pulumi CLI, our parent: a crash test kills that process.
        cloud.mark_held(name, {"id": resource_id, "plugin_pid": os.getpid(), "engine_pid": os.getppid()})
        deadline = time.monotonic() + HOLD_LIMIT_SECONDS
        try:
            while not release.exists():
                if self.cancelled.wait(HOLD_POLL_SECONDS):
                    raise ProviderError(f"{HOLD_CREATE_ENV}: the engine cancelled while {resource_id} was held")
                if time.monotonic() > deadline:
                    limit = f"{HOLD_LIMIT_SECONDS:.0f} s"
                    raise ProviderError(f"{HOLD_CREATE_ENV}: {resource_id} was not released within {limit}")
        finally:
            marker.unlink(missing_ok=True)
            release.unlink(missing_ok=True)


def _body(inputs: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in inputs.items() if key != CREATE_BEFORE_DELETE}
