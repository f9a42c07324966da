"""Reading the cluster through the Kubernetes API: rollout readiness, which pod waits on what, pod logs.

Uses the official client's asyncio API (`kubernetes.aio`) with a kubeconfig
(`MCP_ADAPTERS_KUBECONFIG`, `MCP_ADAPTERS_KUBE_CONTEXT`) or, inside a pod, the
service account. Nothing here writes: Pulumi owns every object.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes.aio import client, config
from kubernetes.aio.client.exceptions import ApiException

from mcp_adapters.targets.base import TargetError

# What a connection that fails before any HTTP answer raises (refused, reset, DNS, timeout).
UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError)
CONTAINER = "proxy"  # the container name infra's render gives the proxy
_MAX_REASONS = 3


@dataclass(frozen=True)
class PodState:
    name: str
    ready: bool
    waiting_on: str = ""


@dataclass(frozen=True)
class Rollout:
    desired: int
    ready: int
    message: str = ""
    pods: tuple[PodState, ...] = field(default_factory=tuple)


class Cluster:
    def __init__(self, kubeconfig: Path | None, context: str | None, request_timeout: float = 10.0) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.request_timeout = request_timeout
        self._api: client.ApiClient | None = None
        self._connecting = asyncio.Lock()

    async def _client(self) -> client.ApiClient:
        async with self._connecting:
            if self._api is None:
                configuration = client.Configuration()
                try:
                    if self.kubeconfig is not None:
                        await config.load_kube_config(
                            config_file=str(self.kubeconfig), context=self.context, client_configuration=configuration
                        )
                    else:
                        config.load_incluster_config(client_configuration=configuration)
                except (config.ConfigException, OSError) as exc:
                    where = self.kubeconfig or "the pod's service account (in-cluster)"
                    raise TargetError(
                        f"cannot configure the Kubernetes client from {where}: {exc}; set MCP_ADAPTERS_KUBECONFIG "
                        "(and MCP_ADAPTERS_KUBE_CONTEXT) or run the service in the cluster",
                        reason="KubernetesUnreachable",
                    ) from exc
                self._api = client.ApiClient(configuration)
            return self._api

    async def close(self) -> None:
        if self._api is not None:
            await self._api.close()
            self._api = None

    async def rollout(self, namespace: str, statefulset: str) -> Rollout:
        """The StatefulSet's readiness; when not ready, a message naming what each waiting pod waits on."""
        api = await self._client()
        try:
            sts = await client.AppsV1Api(api).read_namespaced_stateful_set(
                statefulset, namespace, _request_timeout=self.request_timeout
            )
        except ApiException as exc:
            if exc.status == 404:
                return Rollout(0, 0, f"StatefulSet {namespace}/{statefulset} does not exist (yet)")
            raise _api_error(exc, f"reading StatefulSet {namespace}/{statefulset}") from exc
        except UNREACHABLE as exc:
            raise _unreachable(exc, api, self.request_timeout) from exc
        desired = int(sts.spec.replicas if sts.spec.replicas is not None else 1)
        status = sts.status
        ready = int(status.ready_replicas or 0)
        updated = int(status.updated_replicas or 0)
        current_generation = (status.observed_generation or 0) >= (sts.metadata.generation or 0)
        selector = ",".join(f"{k}={v}" for k, v in sorted((sts.spec.selector.match_labels or {}).items()))
        pods = await self._pods(api, namespace, selector)
        reasons = [f"{p.name}: {p.waiting_on}" for p in pods if not p.ready]
        if not current_generation:
            reasons.insert(0, "the StatefulSet controller has not seen the latest spec yet")
        elif updated < desired:
            reasons.insert(0, f"rolling out: {updated} of {desired} replica(s) updated")
        if len(pods) < desired:
            reasons.append(f"{len(pods)} of {desired} pod(s) exist")
        done = current_generation and updated >= desired
        counted = ready if done else min(ready, updated)
        message = "; ".join(reasons[:_MAX_REASONS]) + (" ..." if len(reasons) > _MAX_REASONS else "")
        return Rollout(desired, counted, message, tuple(pods))

    async def _pods(self, api: client.ApiClient, namespace: str, selector: str) -> list[PodState]:
        try:
            found = await client.CoreV1Api(api).list_namespaced_pod(
                namespace, label_selector=selector, _request_timeout=self.request_timeout
            )
        except ApiException as exc:
            raise _api_error(exc, f"listing pods in {namespace}") from exc
        except UNREACHABLE as exc:
            raise _unreachable(exc, api, self.request_timeout) from exc
        return sorted((_pod_state(pod) for pod in found.items), key=lambda p: _ordinal(p.name))

    async def logs(self, namespace: str, pod: str, tail: int) -> list[str]:
        api = await self._client()
        try:
            text = await client.CoreV1Api(api).read_namespaced_pod_log(
                pod, namespace, container=CONTAINER, tail_lines=tail, _request_timeout=self.request_timeout
            )
        except ApiException as exc:
            raise _api_error(exc, f"reading the log of pod {namespace}/{pod}") from exc
        except UNREACHABLE as exc:
            raise _unreachable(exc, api, self.request_timeout) from exc
        return str(text).splitlines()

    async def follow(self, namespace: str, pod: str, tail: int) -> AsyncGenerator[str, None]:
        """New log lines as the pod writes them, until the pod (or the connection) goes away.

        The API's answer must come within `request_timeout`; the stream after it has no time limit (a quiet
        pod may write nothing for hours). Every failure, before or during the stream, is a TargetError.
        """
        api = await self._client()
        response = await self._open_log_stream(api, namespace, pod, tail)
        try:
            async for raw in response.content:
                yield raw.decode("utf-8", "replace")
        except UNREACHABLE as exc:
            raise TargetError(
                f"the log stream of pod {namespace}/{pod} from the Kubernetes API at {api.configuration.host} "
                f"broke: {exc or type(exc).__name__}; follow the log again to resume",
                reason="KubernetesUnreachable",
            ) from exc
        finally:
            response.release()

    async def _open_log_stream(
        self, api: client.ApiClient, namespace: str, pod: str, tail: int
    ) -> aiohttp.ClientResponse:
        """The log request with `follow=true`, answered with a 2xx (status and headers read, the body not).

        Not sent through `read_namespaced_pod_log_without_preload_content`: its `_request_timeout` takes only
        numbers, which the client hands aiohttp as the *total* time of the request, body included (a default one
        when none is given), so every follow would end after that long. The generated serializer builds the same
        request (path, query, credentials); it goes out with limits on connecting and on the answer only.
        """
        doing = f"following the log of pod {namespace}/{pod}"
        try:
            request = await client.CoreV1Api(api)._read_namespaced_pod_log_serialize(
                name=pod,
                namespace=namespace,
                container=CONTAINER,
                follow=True,
                insecure_skip_tls_verify_backend=None,
                limit_bytes=None,
                pretty=None,
                previous=None,
                since_seconds=None,
                stream=None,
                tail_lines=tail,
                timestamps=None,
                _request_auth=None,
                _content_type=None,
                _headers=None,
                _host_index=0,
            )
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.request_timeout)
            async with asyncio.timeout(self.request_timeout):
                answer = await api.call_api(*request, _request_timeout=timeout, _preload_content=False)
                response: aiohttp.ClientResponse = answer.response
                if response.status < 400:
                    return response
                try:
                    body = await response.read()  # the API's Status object, which says what is wrong
                finally:
                    response.release()
        except ApiException as exc:
            raise _api_error(exc, doing) from exc
        except UNREACHABLE as exc:
            raise _unreachable(exc, api, self.request_timeout) from exc
        refused = ApiException(status=response.status, reason=response.reason, body=body.decode("utf-8", "replace"))
        raise _api_error(refused, doing)


def _pod_state(pod: Any) -> PodState:
    name = str(pod.metadata.name)
    status = pod.status
    conditions = {c.type: c for c in (status.conditions or [])}
    ready = conditions.get("Ready") is not None and conditions["Ready"].status == "True"
    if ready:
        return PodState(name, True)
    if pod.metadata.deletion_timestamp is not None:
        return PodState(name, False, "terminating")
    scheduled = conditions.get("PodScheduled")
    if scheduled is not None and scheduled.status == "False":
        return PodState(name, False, _reason("not scheduled", scheduled.reason, scheduled.message))
    groups = (("init container", status.init_container_statuses), ("container", status.container_statuses))
    for kind, statuses in groups:
        for container in statuses or []:
            state = container.state
            if state is not None and state.waiting is not None:
                what = f"{kind} {container.name} waiting"
                return PodState(name, False, _reason(what, state.waiting.reason, state.waiting.message))
            if state is not None and state.terminated is not None and kind == "container":
                what = f"{kind} {container.name} exited with code {state.terminated.exit_code}"
                return PodState(name, False, _reason(what, state.terminated.reason, state.terminated.message))
            if kind == "container" and not container.ready:
                restarts = f", {container.restart_count} restart(s)" if container.restart_count else ""
                return PodState(name, False, f"container {container.name} running, readiness probe failing{restarts}")
    return PodState(name, False, f"phase {status.phase or 'Unknown'}")


def _reason(what: str, reason: str | None, message: str | None) -> str:
    parts = [what] + [p for p in (reason, (message or "").strip()) if p]
    return ": ".join(parts)


def _ordinal(pod: str) -> int:
    tail = pod.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _api_error(exc: ApiException, doing: str) -> TargetError:
    detail = exc.reason or ""
    if exc.status in (401, 403):
        detail += ": the service's Kubernetes identity lacks the permission (see the control plane's Role)"
    head = f"{exc.status} {detail}".strip()
    message = _status_message(exc.body)  # what the API says, e.g. `pods "github-0" not found`
    said = f": {message}" if message and message != exc.reason else ""
    return TargetError(f"{doing} failed ({head}){said}", reason="KubernetesApiError")


def _status_message(body: object) -> str:
    """The `message` of the API's Status object (`pods "x" not found`), or "" when the body is not one."""
    if not isinstance(body, str | bytes) or not body:
        return ""
    try:
        status = json.loads(body)
    except ValueError:
        return ""
    message = status.get("message") if isinstance(status, dict) else None
    return message.strip() if isinstance(message, str) else ""


def _unreachable(exc: BaseException, api: client.ApiClient, timeout: float) -> TargetError:
    host = api.configuration.host
    why = str(exc) or (f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else type(exc).__name__)
    return TargetError(f"the Kubernetes API at {host} is unreachable: {why}", reason="KubernetesUnreachable")
