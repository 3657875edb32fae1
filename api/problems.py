"""RFC 9457 problem details: the one place that maps errors to HTTP responses."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.errors import (
    InvalidInput,
    InvalidRequest,
    QuorumError,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from api.store import DataError, DBAPIError, OperationalError, PoolTimeout

log = logging.getLogger("quorum.api")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://quorum.dev/problems/"


def problem_body(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """An RFC 9457 problem object. `type` is about:blank for plain HTTP statuses."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response."""
    body = problem_body(status, title, detail, slug=slug, instance=instance, **extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def of(exc: QuorumError, instance: str | None = None) -> dict[str, Any]:
    """The problem object of a domain error: the one mapping, for a request's answer and
    for each item of a batch."""
    return problem_body(
        exc.status, exc.title, exc.detail, slug=exc.slug, instance=instance, **exc.extensions()
    )


def headers_of(exc: QuorumError) -> dict[str, str] | None:
    if exc.retry_after_s is not None:
        return {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="quorum"'}
    return None


def respond(exc: QuorumError, request: Request) -> JSONResponse:
    """A domain error as a problem+json response."""
    return JSONResponse(
        of(exc, request.url.path),
        status_code=exc.status,
        media_type=PROBLEM_JSON,
        headers=headers_of(exc),
    )


class CarriedError(StarletteHTTPException):
    """A domain error raised where only an HTTPException gets through (FastAPI's body
    reading turns anything else into a 400); answered as the error it carries."""

    def __init__(self, error: QuorumError) -> None:
        super().__init__(error.status, error.detail)
        self.error = error


DATABASE_UNAVAILABLE = "the database is unavailable; retry later"
DATABASE_RETRY_S = 5


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _body_unread(error: Any) -> bool:
    """A validation error about the body as a whole (not one field of it)."""
    loc = tuple(error.get("loc", ()))
    return loc == ("body",) and error.get("type") in (
        "model_attributes_type",
        "dict_type",
        "json_invalid",
        "missing",
    )


def _routes(app: Any) -> Iterable[Any]:
    """The app's routes, one per endpoint: from FastAPI 0.137 `app.routes` holds one node
    per included router, flattened (with the include prefix) by `iter_route_contexts`."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    return flatten(app.routes) if flatten is not None else app.routes


def allowed_methods(request: Request) -> str:
    """Every method of every route whose path matches the request, for a 405's `Allow`
    (RFC 9110 10.2.1): Starlette names only the first route's. HEAD goes with GET
    (`api.head`)."""
    methods: set[str] = set()
    for route in _routes(request.app):
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] is not Match.NONE:
            methods.update(route_methods)
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem details."""

    @app.exception_handler(QuorumError)
    async def _domain(request: Request, exc: QuorumError) -> JSONResponse:
        return respond(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        declared = request.headers.get("content-type")
        if not _is_json(declared) and any(_body_unread(e) for e in exc.errors()):
            # FastAPI reads a body not declared JSON (curl -d sends a form type) as bytes
            # and says "Input should be a valid dictionary": say what to send instead.
            return respond(UnsupportedMediaType(declared), request)
        return respond(InvalidRequest.from_pydantic(exc.errors()), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, CarriedError):
            return respond(exc.error, request)
        from http import HTTPStatus

        title = (
            HTTPStatus(exc.status_code).phrase
            if exc.status_code in HTTPStatus._value2member_map_
            else "Error"
        )
        headers = getattr(exc, "headers", None)
        allow = allowed_methods(request) if exc.status_code == 405 else ""
        if allow:
            headers = {**(headers or {}), "Allow": allow}
        return problem(
            exc.status_code,
            title,
            str(exc.detail),
            instance=request.url.path,
            headers=headers,
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value of the request (PostgreSQL: a NUL character in a
        # text, a number out of range): the request is at fault, not the database.
        log.info("database refused a value on %s: %s", request.url.path, exc.orig)
        refused = InvalidInput(
            "the request holds a value the database cannot store or look up "
            "(a NUL character, or a number out of range)"
        )
        return respond(refused, request)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _db(request: Request, exc: Exception) -> JSONResponse:
        # PoolTimeout: every pooled connection was busy for pool_timeout; not a DBAPIError.
        log.error("database error on %s: %s", request.url.path, exc)
        return respond(Unavailable(DATABASE_UNAVAILABLE, DATABASE_RETRY_S), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            500,
            "Internal error",
            "an unexpected error occurred; it has been logged",
            slug="internal",
            instance=request.url.path,
            # Answered by Starlette's outermost middleware, outside `SecurityHeaders`.
            headers={"X-Content-Type-Options": "nosniff"},
        )


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `type` names the problem "
    f"({TYPE_BASE}<slug>, or about:blank for a plain HTTP status).",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "422 invalid-request: each invalid field",
            "items": {"type": "object"},
        },
    },
    "additionalProperties": True,
}


def document(app: FastAPI) -> None:
    """Describe the error answers in the OpenAPI schema as they are: every operation may
    answer 4XX and 5XX as problem+json (FastAPI's default 422 `HTTPValidationError` as
    application/json is replaced, since the handler above answers problem details)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        ref = {"$ref": "#/components/schemas/Problem"}
        error = {"content": {PROBLEM_JSON: {"schema": ref}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Invalid request", **error}
                responses.setdefault("4XX", {"description": "Client error", **error})
                responses.setdefault("5XX", {"description": "Server error", **error})
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
