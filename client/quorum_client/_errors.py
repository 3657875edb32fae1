"""The errors the client raises for error answers, and reading Retry-After.

    QuorumAPIError        any error answer: .status, .problem (RFC 9457), .retry_after
    ├── AuthError         401 missing or unknown key, 403 scope or panel not allowed
    ├── NotFoundError     404
    ├── ConflictError     409
    ├── ValidationError   422 (the service's; pydantic.ValidationError is raised for bad
    │                     arguments before anything is sent)
    ├── RateLimitError    429, after the retries
    └── UnavailableError  503, after the retries

A connection error or timeout that is not retried is raised as the httpx exception.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any

import httpx


class QuorumAPIError(Exception):
    """An error answer: the HTTP status and its RFC 9457 problem details (`problem`)."""

    def __init__(self, status: int, problem: dict[str, Any], retry_after: float | None = None):
        self.status = status
        self.problem = problem
        self.retry_after = retry_after
        """Seconds the server asked us to wait (Retry-After), if it said."""
        title, detail = problem.get("title") or "Error", problem.get("detail")
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")


class AuthError(QuorumAPIError):
    """401 missing or unknown key; 403 the key lacks the scope or the panel."""


class NotFoundError(QuorumAPIError):
    """404: no such panel, rubric, evaluation or review item."""


class ConflictError(QuorumAPIError):
    """409: an idempotency key reused with another body; a review item claimed by another."""


class ValidationError(QuorumAPIError):
    """422: the server rejected the input; `problem["errors"]` lists the fields, if any."""


class RateLimitError(QuorumAPIError):
    """429 still, after `max_retries` retries (or a Retry-After longer than `max_wait`)."""


class UnavailableError(QuorumAPIError):
    """503 still, after `max_retries` retries: the service's database is unreachable."""


ERRORS: dict[int, type[QuorumAPIError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
    503: UnavailableError,
}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for(response: httpx.Response) -> QuorumAPIError:
    """The exception for an error response; a non-problem body still yields a problem dict."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        text = response.text.strip()[:500]
        problem = {"status": response.status_code, "title": response.reason_phrase}
        problem["detail"] = text or None
    cls = ERRORS.get(response.status_code, QuorumAPIError)
    return cls(
        response.status_code, problem, parse_retry_after(response.headers.get("retry-after"))
    )
