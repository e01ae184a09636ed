"""A table from names to specs, as the model and data set registries keep them (``models/registry.py``,
``data/registry.py``). It imports nothing of vidpred but the config errors, so any module may use it."""
from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from vidpred.config import ConfigError


class Named(Protocol):
    name: str


S = TypeVar("S", bound=Named)


class Registry(dict[str, S], Generic[S]):
    """A plain dict from name to spec that refuses a name twice and answers an unknown name with the known ones
    (``kind`` names what it holds in those sentences: "model", "data set")."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, spec: S) -> S:
        if spec.name in self:
            raise ValueError(f"{self.kind} {spec.name!r} is registered twice")
        self[spec.name] = spec
        return spec

    def spec(self, name: str) -> S:
        """The spec of ``name``; an unknown name fails with the list of known ones."""
        if name not in self:
            raise ConfigError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(sorted(self))}")
        return self[name]

    def names(self) -> list[str]:
        return sorted(self)
