"""The proxy workload: ServiceAccount, env Secret and StatefulSet."""

from __future__ import annotations

from typing import Any, Final

from mcp_infra.names import common_labels, selector_labels
from mcp_infra.render._context import RenderContext, kubernetes_resource, restricted_container_security
from mcp_infra.resources import Ref, RenderedResource, SecretValue
from mcp_infra.spec import PLATFORM_ENV, read_by_proxy

HOME: Final = "/home/mcp"
# Defaults the user may override: npx and uvx write caches under HOME, and the root filesystem is read-only.
CACHE_ENV: Final = {
    "HOME": HOME,
    "XDG_CACHE_HOME": f"{HOME}/.cache",
    "NPM_CONFIG_CACHE": f"{HOME}/.npm",
    "NPM_CONFIG_UPDATE_NOTIFIER": "false",
    "UV_CACHE_DIR": f"{HOME}/.cache/uv",
    "TMPDIR": "/tmp",  # noqa: S108 - a private emptyDir in the pod
}
WORKLOAD_IDENTITY_USE: Final = "azure.workload.identity/use"
WORKLOAD_IDENTITY_CLIENT_ID: Final = "azure.workload.identity/client-id"
SECRET_VERSION_ANNOTATION: Final = "mcp-adapters.io/env-secret-version"  # noqa: S105 - an annotation key


def service_account(ctx: RenderContext) -> RenderedResource:
    annotations: dict[str, Any] = {}
    if ctx.spec.use_workload_identity:
        annotations[WORKLOAD_IDENTITY_CLIENT_ID] = Ref(f"UserAssignedIdentity/{ctx.names.identity}", "clientId")
        if ctx.settings.azure.tenant_id:
            annotations["azure.workload.identity/tenant-id"] = ctx.settings.azure.tenant_id
    return kubernetes_resource(
        ctx,
        "v1",
        "ServiceAccount",
        ctx.names.service_account,
        {"automountServiceAccountToken": False},
        annotations=annotations,
        depends_on=(f"UserAssignedIdentity/{ctx.names.identity}",) if ctx.spec.use_workload_identity else (),
    )


def env_secret(ctx: RenderContext) -> RenderedResource | None:
    names = ctx.spec.secret_names()
    if not names:
        return None
    env = ctx.spec.environment_variables
    body = {"type": "Opaque", "stringData": {name: SecretValue(env[name]) for name in names}}
    return kubernetes_resource(ctx, "v1", "Secret", ctx.names.secret, body)


def statefulset(ctx: RenderContext, secret: RenderedResource | None, after: tuple[str, ...] = ()) -> RenderedResource:
    """The proxy pods; `after` names what must exist before they start (network policy, identity)."""
    spec, names = ctx.spec, ctx.names
    pod_labels = common_labels(spec.name, spec.image_version)
    if spec.use_workload_identity:
        pod_labels[WORKLOAD_IDENTITY_USE] = "true"
    pod_annotations: dict[str, Any] = {}
    if secret is not None:
        # Env from a Secret is read at start: a new resourceVersion rolls the pods.
        pod_annotations[SECRET_VERSION_ANNOTATION] = Ref(secret.key, "metadata.resourceVersion")
    pod_spec: dict[str, Any] = {
        "serviceAccountName": names.service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": ctx.settings.run_as_user,
            "runAsGroup": ctx.settings.run_as_user,
            "fsGroup": ctx.settings.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(ctx, secret)],
        "volumes": [
            {"name": "home", "emptyDir": {"sizeLimit": ctx.settings.cache_size_limit}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        ],
    }
    if spec.replica_count > 1:
        pod_spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector_labels(spec.name)},
            }
        ]
    template_metadata: dict[str, Any] = {"labels": pod_labels}
    if pod_annotations:
        template_metadata["annotations"] = pod_annotations
    body = {
        "spec": {
            "replicas": spec.replica_count,
            "serviceName": names.headless_service,
            # Replicas are interchangeable: start and stop them all at once.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector_labels(spec.name)},
            "template": {"metadata": template_metadata, "spec": pod_spec},
        }
    }
    annotations = {"mcp-adapters.io/description": spec.description} if spec.description else {}
    own = (f"ServiceAccount/{names.service_account}", f"Service/{names.headless_service}")
    depends = (*after, *own) + ((secret.key,) if secret else ())
    return kubernetes_resource(
        ctx, "apps/v1", "StatefulSet", names.statefulset, body, annotations=annotations, depends_on=depends
    )


def _container(ctx: RenderContext, secret: RenderedResource | None) -> dict[str, Any]:
    limits = dict(ctx.settings.resources.limits)
    probe_headers = [{"name": "Host", "value": "localhost"}]  # loopback passes the bridge's host check
    return {
        "name": "proxy",
        "image": ctx.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": ctx.settings.port, "protocol": "TCP"}],
        "env": _env(ctx, secret),
        "resources": {"requests": dict(ctx.settings.resources.requests), "limits": limits},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http", "httpHeaders": probe_headers},
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
        # Not ready until the server behind answered `initialize` (npx may first download it).
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "http", "httpHeaders": probe_headers},
            "periodSeconds": 5,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
        "securityContext": restricted_container_security(),
        "volumeMounts": [{"name": "home", "mountPath": HOME}, {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }


def _env(ctx: RenderContext, secret: RenderedResource | None) -> list[dict[str, Any]]:
    names, ns = ctx.names, ctx.settings.namespace
    peer_url = f"http://{{replica}}.{names.headless_service}.{ns}.svc.cluster.local:{ctx.settings.port}"
    env: list[dict[str, Any]] = [
        {"name": "PORT", "value": str(ctx.settings.port)},
        {"name": "MCP_BRIDGE_REPLICA_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "MCP_BRIDGE_PEER_URL_TEMPLATE", "value": peer_url},
    ]
    user = ctx.spec.environment_variables
    # The server gets these plus the bridge's baseline (PATH, HOME, locale, CA bundles, workload identity):
    # not the cluster's KUBERNETES_* variables, not anything else the image or a webhook adds.
    server_env = sorted({k for k in user if k not in PLATFORM_ENV and not read_by_proxy(k)} | CACHE_ENV.keys())
    env.append({"name": "MCP_BRIDGE_SERVER_ENV", "value": ",".join(server_env)})
    if "MCP_BRIDGE_ALLOWED_HOSTS" not in user:
        env.append({"name": "MCP_BRIDGE_ALLOWED_HOSTS", "value": ",".join(ctx.allowed_hosts)})
    env += [{"name": k, "value": v} for k, v in CACHE_ENV.items() if k not in user]
    secrets = set(ctx.spec.secret_names())
    for key in sorted(user):
        if key in PLATFORM_ENV:
            continue
        if key in secrets and secret is not None:
            env.append({"name": key, "valueFrom": {"secretKeyRef": {"name": secret.name, "key": key}}})
        else:
            env.append({"name": key, "value": user[key]})
    return env
