"""The platform's own objects, rendered as pure data like the adapters' are.

Namespaces (the adapters' one enforces the `restricted` Pod Security Standard
and denies all traffic not allowed by an adapter's own policy), the control
plane (Deployment, Service, ServiceAccount, the RBAC it needs to manage
adapters, its storage or database Secret, its Ingress) and, when it manages
Azure identities, its own identity and roles.
"""

from __future__ import annotations

from typing import Any, Final

from mcp_infra.platform.config import ControlPlaneConfig
from mcp_infra.render._azure import (
    FEDERATED_CREDENTIAL_TYPE,
    IDENTITY_TYPE,
    ROLE_ASSIGNMENT_TYPE,
    TOKEN_EXCHANGE_AUDIENCE,
    issuer,
    role_assignment_guid,
    service_account_subject,
)
from mcp_infra.render._context import SKIP_AWAIT, restricted_container_security
from mcp_infra.resources import Ref, RenderedResource, SecretValue, k8s_type
from mcp_infra.settings import AzureSettings, PlatformSettings

MANAGED_IDENTITY_CONTRIBUTOR: Final = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"
RBAC_ADMINISTRATOR: Final = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
# `*/read`, nothing else: enough for `getManagedCluster` (Microsoft.ContainerService/managedClusters/read). The
# AKS Cluster User role would also grant listClusterUserCredential, the cluster's credentials.
READER: Final = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
DATA_DIR: Final = "/var/lib/mcp-adapters"
SHUTDOWN_GRACE_SECONDS: Final = 120
# What the control plane creates for adapters (exactly the kinds the render emits) and reads back.
_MANAGE: Final = ["get", "list", "watch", "create", "update", "patch", "delete"]
_RULES: Final = [
    {"apiGroups": [""], "resources": ["serviceaccounts", "services", "secrets"], "verbs": _MANAGE},
    {"apiGroups": [""], "resources": ["pods", "pods/log", "events", "endpoints"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": _MANAGE},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies", "ingresses"], "verbs": _MANAGE},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": _MANAGE},
]


def _labels(settings: PlatformSettings) -> dict[str, str]:
    return {**settings.control_plane.pod_labels, "app.kubernetes.io/part-of": "mcp-adapters"}


def _k8s(
    settings: PlatformSettings, api: str, kind: str, name: str, namespace: str | None, body: dict[str, Any], **meta: Any
) -> RenderedResource:
    metadata: dict[str, Any] = {"name": name, "labels": meta.pop("labels", _labels(settings))}
    if namespace:
        metadata["namespace"] = namespace
    annotations = {**meta.pop("annotations", {}), **({} if settings.await_rollout else {SKIP_AWAIT: "true"})}
    if annotations:
        metadata["annotations"] = annotations
    depends = tuple(meta.pop("depends_on", ()))
    return RenderedResource(
        k8s_type(api, kind), name, {"apiVersion": api, "kind": kind, "metadata": metadata, **body}, depends
    )


def namespaces(settings: PlatformSettings) -> list[RenderedResource]:
    restricted = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "app.kubernetes.io/part-of": "mcp-adapters",
    }
    adapters = _k8s(settings, "v1", "Namespace", settings.namespace, None, {}, labels=restricted)
    system = _k8s(settings, "v1", "Namespace", settings.control_plane.namespace, None, {}, labels=restricted)
    # A dot: no adapter's NetworkPolicy (named after a DNS-label adapter name) can take this name.
    deny = _k8s(
        settings,
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "platform.default-deny",
        settings.namespace,
        {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
        depends_on=[adapters.key],
    )
    return [adapters, system, deny]


def control_plane(
    settings: PlatformSettings,
    config: ControlPlaneConfig,
    database_url: str | None,
    stacks_passphrase: str | None = None,
) -> list[RenderedResource]:
    cp, ns = settings.control_plane, settings.control_plane.namespace
    identity_name = f"{settings.azure.identity_name_prefix.rstrip('-_')}_control-plane"  # '_': never an adapter name
    resources: list[RenderedResource] = []
    sa_annotations: dict[str, Any] = {}
    if config.workload_identity:
        resources += _identity(settings, identity_name)
        sa_annotations["azure.workload.identity/client-id"] = Ref(f"UserAssignedIdentity/{identity_name}", "clientId")
    sa = _k8s(
        settings,
        "v1",
        "ServiceAccount",
        cp.service_name,
        ns,
        {"automountServiceAccountToken": True},
        annotations=sa_annotations,
        depends_on=[f"Namespace/{ns}"],
    )
    role = _k8s(
        settings,
        "rbac.authorization.k8s.io/v1",
        "Role",
        cp.service_name,
        settings.namespace,
        {"rules": _RULES},
        depends_on=[f"Namespace/{settings.namespace}"],
    )
    binding = _k8s(
        settings,
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        cp.service_name,
        settings.namespace,
        {
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": cp.service_name},
            "subjects": [{"kind": "ServiceAccount", "name": cp.service_name, "namespace": ns}],
        },
        depends_on=[role.key],
    )
    resources += [sa, role, binding]
    if database_url and "MCP_ADAPTERS_PULUMI_BACKEND_URL" not in config.env:
        # With a shared database the state directory is an emptyDir: stacks kept there would be lost.
        raise ValueError(
            "controlPlane with a databaseUrl keeps no volume: set controlPlane.env.MCP_ADAPTERS_PULUMI_BACKEND_URL "
            "(azblob://<container>, s3://, gs:// or https://api.pulumi.com) so the adapters' stacks survive restarts"
        )
    if database_url and not stacks_passphrase and "MCP_ADAPTERS_PULUMI_SECRETS_PROVIDER" not in config.env:
        # A passphrase generated into that emptyDir would differ per pod and die with it: the stacks' secrets with it.
        raise ValueError(
            "controlPlane with a databaseUrl needs one key for the stacks' secrets on every replica: set the secret "
            "mcp-adapters:stacksPassphrase, or controlPlane.env.MCP_ADAPTERS_PULUMI_SECRETS_PROVIDER "
            "(azurekeyvault://<vault>.vault.azure.net/keys/<key>)"
        )
    env: list[dict[str, Any]] = [
        {"name": "MCP_ADAPTERS_TARGET", "value": "kubernetes"},
        # The root filesystem is read-only: the CLI's plugins and state go to the data volume.
        {"name": "MCP_ADAPTERS_PULUMI_HOME", "value": f"{DATA_DIR}/pulumi-home"},
        {"name": "MCP_ADAPTERS_SHUTDOWN_GRACE_SECONDS", "value": str(SHUTDOWN_GRACE_SECONDS)},
    ]
    if "MCP_ADAPTERS_PUBLIC_URL" not in config.env:
        # Its Ingress serves the adapters' host (every path but the adapters' own /mcp): MCP clients find the
        # sign-in metadata (RFC 9728) there, under URLs that must name that host, not the pod's.
        env.append({"name": "MCP_ADAPTERS_PUBLIC_URL", "value": f"https://{settings.host}"})
    env += [{"name": k, "value": v} for k, v in sorted(config.env.items())]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    if database_url:
        secret_values = {"DATABASE_URL": SecretValue(database_url)}
        if stacks_passphrase:
            secret_values["MCP_ADAPTERS_PULUMI_CONFIG_PASSPHRASE"] = SecretValue(stacks_passphrase)
        secret = _k8s(
            settings,
            "v1",
            "Secret",
            f"{cp.service_name}-database",
            ns,
            {"type": "Opaque", "stringData": secret_values},
            depends_on=[f"Namespace/{ns}"],
        )
        resources.append(secret)
        for key in secret_values:
            env.append({"name": key, "valueFrom": {"secretKeyRef": {"name": secret.name, "key": key}}})
        volumes.append({"name": "data", "emptyDir": {}})
    else:
        claim: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": config.storage_size}},
        }
        if config.storage_class_name:
            claim["storageClassName"] = config.storage_class_name
        # SQLite lives on this volume; the Pulumi await would wait for a consumer that binds it.
        pvc = _k8s(
            settings,
            "v1",
            "PersistentVolumeClaim",
            f"{cp.service_name}-data",
            ns,
            {"spec": claim},
            annotations={SKIP_AWAIT: "true"},
            depends_on=[f"Namespace/{ns}"],
        )
        resources.append(pvc)
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": pvc.name}})
    resources.append(_deployment(settings, config, env, volumes, bool(database_url), [r.key for r in resources]))
    service = _k8s(
        settings,
        "v1",
        "Service",
        cp.service_name,
        ns,
        {
            "spec": {
                "selector": dict(cp.pod_labels),
                "ports": [{"name": "http", "port": cp.port, "targetPort": "http", "protocol": "TCP"}],
            }
        },
        depends_on=[f"Namespace/{ns}"],
    )
    resources.append(service)
    if config.expose:
        resources.append(_ingress(settings, service))
    return resources


def _deployment(
    settings: PlatformSettings,
    config: ControlPlaneConfig,
    env: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    shared_db: bool,
    after: list[str],
) -> RenderedResource:
    cp = settings.control_plane
    labels = dict(cp.pod_labels)
    if config.workload_identity:
        labels["azure.workload.identity/use"] = "true"
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    container = {
        "name": "control-plane",
        "image": f"{settings.registry}/{config.image_name}:{config.image_version}",
        "args": ["serve", "--host", "0.0.0.0", "--port", str(cp.port)],
        "workingDir": DATA_DIR,
        "ports": [{"name": "http", "containerPort": cp.port, "protocol": "TCP"}],
        "env": env,
        "resources": {"requests": dict(config.requests), "limits": dict(config.limits)},
        "livenessProbe": probe,
        "readinessProbe": {**probe, "httpGet": {"path": "/readyz", "port": "http"}},
        "securityContext": restricted_container_security(),
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}, {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }
    spec = {
        # SQLite on a ReadWriteOnce volume: never two pods at once.
        "replicas": config.replicas if shared_db else 1,
        "strategy": {"type": "RollingUpdate"} if shared_db else {"type": "Recreate"},
        "selector": {"matchLabels": dict(cp.pod_labels)},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": cp.service_name,
                # A running Pulumi update gets the service's shutdown grace to finish, plus time to stop.
                "terminationGracePeriodSeconds": SHUTDOWN_GRACE_SECONDS + 30,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": settings.run_as_user,
                    "runAsGroup": settings.run_as_user,
                    "fsGroup": settings.run_as_user,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
    return _k8s(settings, "apps/v1", "Deployment", cp.service_name, cp.namespace, {"spec": spec}, depends_on=after)


def _ingress(settings: PlatformSettings, service: RenderedResource) -> RenderedResource:
    backend = {"service": {"name": service.name, "port": {"name": "http"}}}
    annotations = {k: v for k, v in settings.ingress.annotations.items() if "{" not in v and "rewrite" not in k}
    annotations = {k: v for k, v in annotations.items() if k != settings.ingress.auth_annotation}
    body = {
        "spec": {
            "ingressClassName": settings.ingress.class_name,
            "tls": [{"hosts": [settings.host], "secretName": settings.tls_secret_name}],
            "rules": [
                {"host": settings.host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
            ],
        }
    }
    # The API authenticates callers itself (Entra ID JWTs); no forward auth in front of it.
    return _k8s(
        settings,
        "networking.k8s.io/v1",
        "Ingress",
        service.name,
        service.inputs["metadata"]["namespace"],
        body,
        annotations=annotations,
        depends_on=[service.key],
    )


def _identity(settings: PlatformSettings, name: str) -> list[RenderedResource]:
    azure, cp = settings.azure, settings.control_plane
    inputs: dict[str, Any] = {
        "resourceGroupName": azure.resource_group_name,
        "resourceName": name,
        "tags": {**azure.tags, "part-of": "mcp-adapters", "managed-by": "pulumi"},
    }
    if azure.location:
        inputs["location"] = azure.location
    identity = RenderedResource(IDENTITY_TYPE, name, inputs)
    credential = RenderedResource(
        FEDERATED_CREDENTIAL_TYPE,
        "fic_control-plane",
        {
            "resourceGroupName": azure.resource_group_name,
            "resourceName": name,
            "federatedIdentityCredentialResourceName": "kubernetes-control-plane",
            "issuer": issuer(azure),
            "subject": service_account_subject(cp.namespace, cp.service_name),
            "audiences": [TOKEN_EXCHANGE_AUDIENCE],
        },
        (identity.key,),
    )
    resources = [identity, credential]
    if not azure.subscription_id:
        return resources  # role scopes need the subscription id; the docs say to grant them by hand otherwise
    sub = azure.subscription_id
    grants = [(MANAGED_IDENTITY_CONTRIBUTOR, f"/subscriptions/{sub}/resourceGroups/{azure.resource_group_name}")]
    grants += [(RBAC_ADMINISTRATOR, scope) for scope in sorted({a.scope for a in azure.role_assignments})]
    named = [(f"control-plane-role-{index}", role, scope) for index, (role, scope) in enumerate(grants)]
    if not azure.oidc_issuer_url:
        # Adapters' federated credentials then take the issuer from the AKS cluster, which the control plane's
        # stacks read with getManagedCluster: its identity must be able to read the cluster.
        named.append(("control-plane-cluster-reader", READER, cluster_id(azure)))
    resources += [_role_assignment(resource, name, identity, sub, role, scope) for resource, role, scope in named]
    return resources


def cluster_id(azure: AzureSettings) -> str:
    group = azure.cluster_resource_group_name or azure.resource_group_name
    return (
        f"/subscriptions/{azure.subscription_id}/resourceGroups/{group}"
        f"/providers/Microsoft.ContainerService/managedClusters/{azure.cluster_name}"
    )


def _role_assignment(
    resource: str, identity_name: str, identity: RenderedResource, sub: str, role: str, scope: str
) -> RenderedResource:
    definition = f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    inputs = {
        "principalId": Ref(identity.key, "principalId"),
        "principalType": "ServicePrincipal",
        "roleDefinitionId": definition,
        "scope": scope,
        "roleAssignmentName": role_assignment_guid(identity_name, definition, scope),
    }
    return RenderedResource(ROLE_ASSIGNMENT_TYPE, resource, inputs, (identity.key,))
