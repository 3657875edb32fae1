"""Shared pieces of the wire models: limits, the list page, the rubric reference."""

from __future__ import annotations

import math
import re
from typing import Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_TEXT = 200_000
"""Characters per judged text field; longer is 422 (the body limit applies first)."""


MAX_METADATA_KEYS = 32


MAX_METADATA_DEPTH = 8
"""Nesting levels of metadata values (an object or list in an object is level 2)."""


MAX_METADATA_NODES = 2_000
"""Values (objects, lists, scalars and keys) in all of metadata."""


T = TypeVar("T")
_SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone surrogate: JSON's \\ud800 escape decodes to one, and UTF-8 cannot encode it."""


def _check_shape(value: dict[str, Any]) -> None:
    """Refuse metadata nested deeper than MAX_METADATA_DEPTH or holding more than
    MAX_METADATA_NODES values (iteratively: a deep value cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_METADATA_NODES:
            raise ValueError(f"metadata holds more than {MAX_METADATA_NODES} values")
        if isinstance(node, str) and _SURROGATE.search(node):
            raise ValueError("metadata holds a lone UTF-16 surrogate, which is not text")
        if isinstance(node, float) and not math.isfinite(node):
            # Python's JSON reader takes NaN, Infinity and 1e400; JSON has no such number.
            raise ValueError("metadata holds NaN or an infinite number, which JSON cannot carry")
        if isinstance(node, dict | list):
            if depth > MAX_METADATA_DEPTH:
                raise ValueError(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels")
            # A dict's keys are values too: counted and checked like the others.
            children = [*node, *node.values()] if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain a NUL (U+0000) character")
    return value


NoNul = AfterValidator(_no_nul)
"""For a free-text request field: PostgreSQL cannot store a NUL in text, so the service
refuses one on every database (a 422 on SQLite too, not only where PostgreSQL would fail)."""


def _nul_at(value: Any, where: str) -> str | None:
    """The location of the first NUL character in a JSON value, if any."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _nul_at(k, where) or _nul_at(v, f"{where}.{k}")
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_at(v, f"{where}.{i}")
            if found:
                return found
    return None


USE_CASE_PATTERN = r"^[A-Za-z0-9._:/-]{1,128}$"
"""A governance use-case label: 1 to 128 letters, digits or `. _ : / -`."""


class Subject(BaseModel):
    """The production model that wrote the judged response (not a judge)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=256)
    """The model's name as the application calls it (e.g. `openai/gpt-4o-mini`)."""
    version: str | None = Field(default=None, min_length=1, max_length=128)
    """Its version or deployment, if the application knows it."""


class SubjectPublic(BaseModel):
    """The production model that wrote the judged response, as stored."""

    model: str
    version: str | None = None


class Page(BaseModel, Generic[T]):
    """A list response."""

    data: list[T]
    count: int


class RubricRef(BaseModel):
    id: str
    version: int
