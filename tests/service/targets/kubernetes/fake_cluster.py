"""A Kubernetes API server on 127.0.0.1 that serves what the target reads: StatefulSets, pods and pod logs.

Just the read paths the `kubernetes` target uses, with the API's JSON shapes and
status codes, behind a bearer token, so the real client (`kubernetes.aio`)
talks to it over real HTTP through a kubeconfig. A test can also make it fail the
way a real API does: refuse a resource (403), drop a log stream mid-way, or
accept a request and never answer it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


def write_kubeconfig(path: Path, server: str, token: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {"token": token}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester"}}],
        "current-context": "fake",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _status(code: int, reason: str, message: str) -> JSONResponse:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message}
    return JSONResponse(body, status_code=code)


class FakeCluster:
    def __init__(self, token: str = "test-token") -> None:  # noqa: S107 - a test double's token
        self.token = token
        self.statefulsets: dict[tuple[str, str], dict[str, Any]] = {}
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.logs: dict[tuple[str, str], list[str]] = {}
        self.requests: list[str] = []
        self.forbidden: set[str] = set()  # resources ("pods/log") the identity may not get: 403
        self.unanswered: set[str] = set()  # resources whose requests are accepted and never answered
        self._drops: dict[tuple[str, str], int] = {}
        self._changed = anyio.Event()
        self.app = Starlette(
            routes=[
                Route("/apis/apps/v1/namespaces/{ns}/statefulsets/{name}", self._statefulset),
                Route("/api/v1/namespaces/{ns}/pods", self._pod_list),
                Route("/api/v1/namespaces/{ns}/pods/{name}/log", self._pod_log),
            ]
        )

    # -- what the test sets up ------------------------------------------------------------------

    def statefulset(
        self, ns: str, name: str, replicas: int, *, ready: int = 0, updated: int | None = None, stale: bool = False
    ) -> None:
        labels = {"app.kubernetes.io/name": "mcp-adapter", "app.kubernetes.io/instance": name}
        self.statefulsets[(ns, name)] = {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": ns, "generation": 2},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "serviceName": f"{name}-peers",
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "proxy"}]}},
            },
            "status": {
                "replicas": replicas,
                "readyReplicas": ready,
                "updatedReplicas": replicas if updated is None else updated,
                "observedGeneration": 1 if stale else 2,
            },
        }
        for index in range(replicas):
            self.pod(ns, f"{name}-{index}", labels, ready=index < ready)

    def pod(
        self,
        ns: str,
        name: str,
        labels: dict[str, str],
        *,
        ready: bool,
        waiting: tuple[str, str] | None = None,
        unschedulable: str | None = None,
    ) -> None:
        conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
        if unschedulable:
            conditions.append(
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": unschedulable}
            )
        container: dict[str, Any] = {"name": "proxy", "ready": ready, "restartCount": 0, "image": "x", "imageID": ""}
        if waiting:
            container["state"] = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
        else:
            container["state"] = {"running": {"startedAt": "2026-11-25T10:00:00Z"}}
        self.pods[(ns, name)] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "proxy"}]},
            "status": {
                "phase": "Running" if not unschedulable else "Pending",
                "conditions": conditions,
                "containerStatuses": [] if unschedulable else [container],
            },
        }
        self._notify()

    def write_log(self, ns: str, pod: str, *lines: str) -> None:
        self.logs.setdefault((ns, pod), []).extend(lines)
        self._notify()

    def drop_log_streams(self, ns: str, pod: str) -> None:
        """Every log stream of the pod open now ends abruptly: the connection closes mid-body."""
        self._drops[(ns, pod)] = self._drops.get((ns, pod), 0) + 1
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    # -- the API --------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _statefulset(self, request: Request) -> Response:
        if not self._authorized(request):
            return _status(401, "Unauthorized", "Unauthorized")
        key = (request.path_params["ns"], request.path_params["name"])
        if key not in self.statefulsets:
            return _status(404, "NotFound", f'statefulsets.apps "{key[1]}" not found')
        return JSONResponse(self.statefulsets[key])

    async def _pod_list(self, request: Request) -> Response:
        if not self._authorized(request):
            return _status(401, "Unauthorized", "Unauthorized")
        ns = request.path_params["ns"]
        wanted = dict(part.split("=", 1) for part in request.query_params.get("labelSelector", "").split(",") if part)
        items = [
            pod
            for (pod_ns, _), pod in sorted(self.pods.items())
            if pod_ns == ns and all(pod["metadata"]["labels"].get(k) == v for k, v in wanted.items())
        ]
        return JSONResponse({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})

    async def _refused(self, request: Request, resource: str) -> Response | None:
        """401 for a wrong token, 403 for a forbidden resource; never answers an unanswered one."""
        if not self._authorized(request):
            return _status(401, "Unauthorized", "Unauthorized")
        ns, name = request.path_params["ns"], request.path_params["name"]
        if resource in self.forbidden:
            user = "system:serviceaccount:mcp-adapters:control-plane"
            message = (
                f'{resource.split("/")[0]} "{name}" is forbidden: User "{user}" cannot get resource "{resource}" '
                f'in API group "" in the namespace "{ns}"'
            )
            return _status(403, "Forbidden", message)
        if resource in self.unanswered:
            while (await request.receive())["type"] != "http.disconnect":
                pass  # the client gave up and closed the connection
            return Response(status_code=499)
        return None

    async def _pod_log(self, request: Request) -> Response:
        if (refused := await self._refused(request, "pods/log")) is not None:
            return refused
        key = (request.path_params["ns"], request.path_params["name"])
        if key not in self.pods:
            return _status(404, "NotFound", f'pods "{key[1]}" not found')
        if request.query_params.get("container") not in (None, "proxy"):
            return _status(400, "BadRequest", "container not valid for pod")
        for status in self.pods[key]["status"]["containerStatuses"]:
            if "waiting" in status["state"]:
                reason = status["state"]["waiting"]["reason"]
                message = f'container "{status["name"]}" in pod "{key[1]}" is waiting to start: {reason}'
                return _status(400, "BadRequest", message)
        tail = int(request.query_params.get("tailLines", "100000"))
        lines = self.logs.get(key, [])
        start = max(0, len(lines) - tail)
        if request.query_params.get("follow") != "true":
            return PlainTextResponse("".join(line + "\n" for line in lines[start:]))

        async def stream() -> Any:
            sent, drops = start, self._drops.get(key, 0)
            while key in self.pods:
                if self._drops.get(key, 0) != drops:
                    # Raised after the headers went out, uvicorn can only close the connection mid-body.
                    raise ConnectionAbortedError(f"the fake API drops the log stream of {key[1]}")
                current = self.logs.get(key, [])
                for line in current[sent:]:
                    yield (line + "\n").encode()
                sent = len(current)
                await self._changed.wait()

        return StreamingResponse(stream(), media_type="text/plain")
