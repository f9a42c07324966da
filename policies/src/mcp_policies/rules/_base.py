"""A rule: a name, a default enforcement, and a check over one resource or over all of them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from mcp_policies.config import PolicyConfig
from mcp_policies.view import Resource

ResourceCheck = Callable[[Resource, PolicyConfig], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], PolicyConfig], Iterable[tuple[Resource, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    default: Literal["mandatory", "advisory"]
    check_resource: ResourceCheck | None = None
    check_stack: StackCheck | None = None

    def run(self, resources: Sequence[Resource], config: PolicyConfig) -> Iterable[tuple[Resource, str]]:
        if self.check_resource is not None:
            for resource in resources:
                for message in self.check_resource(resource, config):
                    yield resource, message
        if self.check_stack is not None:
            yield from self.check_stack(resources, config)


def resource_rule(
    name: str, description: str, default: Literal["mandatory", "advisory"] = "mandatory"
) -> Callable[[ResourceCheck], Rule]:
    def wrap(check: ResourceCheck) -> Rule:
        return Rule(name, description, default, check_resource=check)

    return wrap


def stack_rule(
    name: str, description: str, default: Literal["mandatory", "advisory"] = "mandatory"
) -> Callable[[StackCheck], Rule]:
    def wrap(check: StackCheck) -> Rule:
        return Rule(name, description, default, check_stack=check)

    return wrap
