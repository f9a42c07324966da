"""Images come from the platform's registries and name an exact version."""

from __future__ import annotations

from collections.abc import Iterator

from mcp_policies.config import PolicyConfig
from mcp_policies.rules._base import resource_rule
from mcp_policies.view import Resource


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """`registry/repo:tag@digest` -> (repository, tag, digest)."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest or None
    return rest, None, digest or None


def _images(resource: Resource) -> Iterator[tuple[str, str]]:
    for container in resource.containers():
        image = container.get("image")
        if isinstance(image, str):
            yield str(container.get("name", "?")), image


@resource_rule("allowed-registries", "Images come from the platform's allowed registries.")
def allowed_registries(resource: Resource, config: PolicyConfig) -> Iterator[str]:
    for name, image in _images(resource):
        if not any(image.startswith(registry.rstrip("/") + "/") for registry in config.allowed_registries):
            allowed = ", ".join(config.allowed_registries) or "(none)"
            yield f"container {name} image {image} is not from an allowed registry ({allowed}): push it there"


@resource_rule("pinned-images", "Images name an exact version: a tag other than `latest`, or a digest.")
def pinned(resource: Resource, _config: PolicyConfig) -> Iterator[str]:
    for name, image in _images(resource):
        _repository, tag, digest = split_image(image)
        if digest:
            continue
        if tag is None or tag == "latest":
            yield f"container {name} image {image} is not pinned: use an explicit version tag or a digest"
