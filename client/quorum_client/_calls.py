"""`Call`: one request to the API and how to read its answer, and the helpers that build
one; `_endpoints` and `_governance_endpoints` make a `Call` per endpoint with these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

__all__ = ["RESPOND_ASYNC", "Call", "body_of", "get", "many", "one", "path"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
RESPOND_ASYNC = {"Prefer": "respond-async"}


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to the API and how to read its (successful) answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] | None = None
    replayable: bool = False
    """Safe to resend after a connection error or timeout: see `Endpoints`."""
    settle: bool = False
    """The answer is an evaluation the caller waits for: one still `pending` (a replay of
    a key whose first request the server could not finish in time) is polled until it
    concludes (`wait_for`)."""


def one(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda r: model.model_validate_json(r.content)


def many(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    return lambda r: [model.model_validate(item) for item in r.json()["data"]]


def body_of(model: BaseModel) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def path(template: str, *parts: str) -> str:
    return template.format(*(quote(p, safe="") for p in parts))


def get(path: str, parse: Callable[[httpx.Response], T], **params: str | int | None) -> Call[T]:
    query = {k: v for k, v in params.items() if v is not None}
    return Call("GET", path, parse, params=query or None, replayable=True)
