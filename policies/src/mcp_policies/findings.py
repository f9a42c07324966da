"""What a policy check reports: which rule, how binding, on which resource, and how to fix it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Enforcement = Literal["mandatory", "advisory", "disabled"]


class ResourceRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str
    name: str

    def __str__(self) -> str:
        return f"{self.type} {self.name}"


class Finding(BaseModel):
    """One violation. `enforcement` is `mandatory` (blocks a deployment) or `advisory` (reported)."""

    model_config = ConfigDict(frozen=True)

    policy: str
    enforcement: Literal["mandatory", "advisory"]
    resource: ResourceRef
    message: str

    @property
    def severity(self) -> Literal["mandatory", "advisory"]:
        return self.enforcement

    @property
    def mandatory(self) -> bool:
        return self.enforcement == "mandatory"

    def __str__(self) -> str:
        return f"[{self.enforcement}] {self.policy}: {self.resource}: {self.message}"
