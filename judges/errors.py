"""Errors of the judges package.

    JudgeError
    ├── JudgeConfigError        a judge is misconfigured (fails start-up, never retried)
    └── JudgeCallError          one call to a judge model failed; `kind` says how
        ├── RetryableCallError  timeout, 429, 5xx, connection: worth another try
        └── PermanentCallError  auth, bad request, unknown model: retrying cannot help

A call error never escapes the panel runner: it becomes a vote with `error` set. Its
`detail` is made readable, bounded and secret-free (`judges.error_text.readable`) when the
error is built, so no provider body reaches a vote verbatim.
"""

from __future__ import annotations

from enum import StrEnum

from judges.error_text import LIMIT, readable


class CallErrorKind(StrEnum):
    """How a judge call failed. A bounded set: it labels metrics."""

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CONNECTION = "connection"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    DEADLINE = "deadline"
    CIRCUIT_OPEN = "circuit_open"
    OTHER = "other"


class JudgeError(Exception):
    """Base of every error the judges package raises."""


class JudgeConfigError(JudgeError):
    """A judge configuration is invalid."""


class JudgeCallError(JudgeError):
    """One call to a judge model failed."""

    retryable = False

    def __init__(
        self,
        kind: CallErrorKind,
        detail: str,
        *,
        retry_after_s: float | None = None,
        status: int | None = None,
    ) -> None:
        self.kind = kind
        self.status = status
        """The HTTP status the provider answered, where there was one."""
        prefix = f"HTTP {status}: " if status is not None else ""
        self.detail = prefix + (readable(detail, LIMIT - len(prefix)) or kind.value)
        """Readable and bounded; starts with `HTTP <status>: ` when there was a status."""
        self.retry_after_s = retry_after_s
        """How long the provider asked to wait before another try (see `judges.hints`)."""
        super().__init__(f"{kind.value}: {self.detail}")


class RetryableCallError(JudgeCallError):
    """A transient failure: timeouts, rate limits, server errors, dropped connections."""

    retryable = True


class PermanentCallError(JudgeCallError):
    """A failure that another try cannot fix: bad credentials, bad request, unknown model."""
