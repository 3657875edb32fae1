"""Domain errors of the service; `api.problems` maps each to an HTTP problem.

QuorumError
├── ConfigError             quorum.yaml is invalid (start-up stops, one line)
├── Unauthorized            missing or unknown API key                   -> 401
├── Forbidden               the key lacks the scope or the panel         -> 403
├── NotFound                no such panel, rubric or evaluation          -> 404
├── InvalidRequest          the body does not match the schema           -> 422
├── InvalidInput            the item cannot be judged on this panel      -> 422
├── UnsupportedMediaType    a body not sent as application/json          -> 415
├── Conflict                idempotency key reused with another request  -> 409
├── PayloadTooLarge         body over the configured limit               -> 413
├── RequestTimeout          the body was not sent in time                -> 408
└── RetryLater              answered with Retry-After
    ├── Unavailable         the database cannot be reached               -> 503
    ├── Overloaded          the judging backlog is full                  -> 503
    └── RateLimited         over the key's request rate                  -> 429

`api.problems` is the one place that turns each into RFC 9457 problem details (type
`https://quorum.dev/problems/<slug>`), for a single request and for each batch item
alike. An error with `retry_after_s` set is answered with a `Retry-After` header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rubrics.loader import printable


class QuorumError(Exception):
    """Base of the service's domain errors."""

    status = 500
    slug = "internal"
    title = "Internal error"
    retry_after_s: int | None = None
    """Seconds after which a retry may succeed (sent as `Retry-After`), if known."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)

    def extensions(self) -> dict[str, Any]:
        """Extra members of the problem object (e.g. `errors` of an invalid request)."""
        return {}


class ConfigError(QuorumError):
    """The configuration file is invalid; the message is one line: file, key, problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        shown = printable(self.path)  # a newline in a file's name must not break the line
        where = f"{shown}: {key}" if key else shown
        super().__init__(f"{where}: {problem}")


class Unauthorized(QuorumError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(QuorumError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(QuorumError):
    status = 404
    slug = "not-found"
    title = "Not found"


class InvalidRequest(QuorumError):
    """The request body does not match the schema; `errors` names each invalid field."""

    status = 422
    slug = "invalid-request"
    title = "Invalid request"

    def __init__(self, errors: list[dict[str, str]], detail: str | None = None) -> None:
        self.errors = errors
        if detail is None:
            first = errors[0] if errors else {"location": "", "message": "invalid request"}
            loc = first.get("location", "")
            detail = f"{loc}: {first['message']}" if loc else first["message"]
        super().__init__(detail)

    @classmethod
    def from_pydantic(cls, errors: Any) -> InvalidRequest:
        """From pydantic's or FastAPI's `errors()` list."""
        return cls(
            [
                {
                    "location": ".".join(str(p) for p in e.get("loc", ())),
                    "message": e.get("msg", ""),
                    "type": e.get("type", ""),
                }
                for e in errors
            ]
        )

    def extensions(self) -> dict[str, Any]:
        return {"errors": self.errors}


class InvalidInput(QuorumError):
    """A well-formed request that cannot be carried out as asked; like every 422, its
    problem has an `errors` list (one entry, at `location` when one field is at fault)."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(self, detail: str, location: str = "") -> None:
        super().__init__(detail)
        self.location = location

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"location": self.location, "message": self.detail, "type": self.slug}]}


class UnsupportedMediaType(QuorumError):
    """A body that is not declared JSON: the answer says which header to send."""

    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"

    def __init__(self, received: str | None) -> None:
        got = f"Content-Type {received!r}" if received else "no Content-Type"
        super().__init__(f"the body must be JSON: send Content-Type: application/json (got {got})")

    def extensions(self) -> dict[str, Any]:
        return {
            "errors": [
                {"location": "header.content-type", "message": self.detail, "type": self.slug}
            ]
        }


class Conflict(QuorumError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(QuorumError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class RequestTimeout(QuorumError):
    status = 408
    slug = "request-timeout"
    title = "Request timeout"


class RetryLater(QuorumError):
    """An error that goes away with time: answered with `Retry-After`."""

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Overloaded(RetryLater):
    """Admission control: this replica's backlog of evaluations is full. Nothing was stored."""

    status = 503
    slug = "overloaded"
    title = "Service overloaded"


class Unavailable(RetryLater):
    """The database cannot be reached (or its pool is exhausted); nothing was changed."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"


class RateLimited(RetryLater):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"
