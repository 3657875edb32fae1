"""The errors the client raises for error answers, and reading Retry-After.

    QuorumAPIError        any error answer: .status, .problem (RFC 9457), .retry_after
    ├── AuthError         401 missing or unknown key, 403 scope or panel not allowed
    ├── NotFoundError     404
    ├── ConflictError     409
    ├── ValidationError   422 (the service's; pydantic.ValidationError is raised for bad
    │                     arguments before anything is sent)
    ├── RateLimitError    429, after the retries
    ├── UnavailableError  503, after the retries
    └── UnexpectedResponseError  an answer that is not Quorum's: a redirect, or a success
                          whose body is not what the endpoint answers (an HTML page from
                          a proxy or login portal in between, another service)

An error answer that is not a problem document (a proxy's HTML 502) still raises the class
for its status, its `problem` made from the status and the page's text. A connection error
or timeout that is not retried is raised as the httpx exception.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import httpx
import pydantic


class QuorumAPIError(Exception):
    """An error answer: the HTTP status and its RFC 9457 problem details (`problem`)."""

    def __init__(self, status: int, problem: dict[str, Any], retry_after: float | None = None):
        self.status = status
        self.problem = problem
        self.retry_after = retry_after
        """Seconds the server asked us to wait (Retry-After), if it said."""
        title, detail = problem.get("title"), problem.get("detail")
        title = title if isinstance(title, str) and title else "Error"
        detail = detail if isinstance(detail, str) else None
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


class UnexpectedResponseError(QuorumAPIError):
    """An answer the client cannot read as Quorum's: a redirect, or a success whose body
    is not the endpoint's (`problem["detail"]` says what came; `__cause__` is the parse
    error). Usually `base_url` points at something else than Quorum."""

    @classmethod
    def of(cls, response: httpx.Response, what: str) -> UnexpectedResponseError:
        """For `response`, which was `what` ("a redirect to ...")."""
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        text = _page_text(response)
        detail = f"{kind} from {response.request.url} ({what})" + (f": {text}" if text else "")
        problem = {"status": response.status_code, "title": "Not a Quorum answer"}
        return cls(response.status_code, problem | {"detail": detail})


def unreadable(exc: Exception) -> str:
    """Why an answer did not parse, in a line: the first field pydantic refused, or the
    error's own message."""
    if isinstance(exc, pydantic.ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else first["msg"]
    return f"{type(exc).__name__}: {exc}"[:200]


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
        problem = {"status": response.status_code, "title": response.reason_phrase}
        problem["detail"] = _page_text(response) or None
    cls = ERRORS.get(response.status_code, QuorumAPIError)
    return cls(
        response.status_code, problem, parse_retry_after(response.headers.get("retry-after"))
    )


class _Text(HTMLParser):
    """An HTML page's title and visible text (no scripts, styles or tags)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.text: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "title"):
            self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        where = self._in[-1] if self._in else None
        if where == "title":
            self.title.append(data)
        elif where is None:
            self.text.append(data)


def _page_text(response: httpx.Response, limit: int = 500) -> str:
    """A body that is not JSON, as one line of text: an HTML page's title and visible text
    (a proxy's error page), other text with its whitespace collapsed; at most `limit`."""
    try:
        text = response.text[:100_000]
    except (UnicodeDecodeError, LookupError):  # an unknown charset
        text = response.content[:100_000].decode("utf-8", "replace")
    if "html" in response.headers.get("content-type", ""):
        page = _Text()
        page.feed(text)
        page.close()
        title, body = " ".join("".join(page.title).split()), " ".join(page.text)
        text = f"{title}: {body}" if title and title not in body else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
