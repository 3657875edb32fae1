"""Domain errors of the service; `api.problems` maps each to an HTTP problem.

QuorumError
├── ConfigError             quorum.yaml is invalid (start-up stops, one line)
├── NotFound                no such panel, rubric or evaluation          -> 404
├── InvalidInput            the item cannot be judged on this panel      -> 422
├── Conflict                idempotency key reused with another request  -> 409
├── PayloadTooLarge         body over the configured limit               -> 413
├── Unavailable             the database cannot be reached               -> 503
└── RetryLater              answered with Retry-After
    ├── Overloaded          the judging backlog is full                  -> 503
    └── auth.RateLimited    over the key's request rate                  -> 429

An error with `retry_after_s` set is answered with a `Retry-After` header.
"""

from __future__ import annotations

from pathlib import Path


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


class ConfigError(QuorumError):
    """The configuration file is invalid; the message is one line: file, key, problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        where = f"{self.path}: {key}" if key else str(self.path)
        super().__init__(f"{where}: {problem}")


class NotFound(QuorumError):
    status = 404
    slug = "not-found"
    title = "Not found"


class InvalidInput(QuorumError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class Conflict(QuorumError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(QuorumError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class Unavailable(QuorumError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"


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
