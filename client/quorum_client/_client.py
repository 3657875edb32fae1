"""A typed Python client for the Quorum REST API (v1): `QuorumClient` and `AsyncQuorumClient`.

Both clients run the same request specs (`Endpoints`: one `Call` per endpoint, saying what
to send and how to read the answer) through the same retry policy (`_Base`); only the I/O
differs. Answers are the client's own pydantic models (`_models`, `_requests`), which the
Quorum test suite compares with the service's OpenAPI schema. See docs/client.md.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from quorum_client._models import (
    AgreementReport,
    BatchResult,
    EvaluationPublic,
    PanelPublic,
    ReviewItemPublic,
    RubricPublic,
    ScaleValue,
)
from quorum_client._requests import (
    BatchCreate,
    ClaimRequest,
    ComparisonCreate,
    EvaluationCreate,
    PairwiseInput,
    PointwiseInput,
    ReleaseRequest,
    VerdictRequest,
)

_JITTER = random.Random()  # our own: the global generator belongs to the application
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")
RETRY_STATUSES = frozenset({429, 503})
RESPOND_ASYNC = {"Prefer": "respond-async"}


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


def _one(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda r: model.model_validate_json(r.content)


def _many(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    return lambda r: [model.model_validate(item) for item in r.json()["data"]]


def _body(model: BaseModel) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def _path(template: str, *parts: str) -> str:
    return template.format(*(quote(p, safe="") for p in parts))


def _get(path: str, parse: Callable[[httpx.Response], T], **params: str | int | None) -> Call[T]:
    query = {k: v for k, v in params.items() if v is not None}
    return Call("GET", path, parse, params=query or None, replayable=True)


def _submit(
    path: str, body: EvaluationCreate | ComparisonCreate, wait: bool
) -> Call[EvaluationPublic]:
    headers = None if wait else RESPOND_ASYNC
    replay = body.idempotency_key is not None
    return Call("POST", path, _one(EvaluationPublic), _body(body), None, headers, replay)


class Endpoints:
    """Every endpoint as a `Call`, shared by both clients.

    Retries: 429 and 503 are retried on every call. A 429 is refused before any work (the
    rate limit is checked before the handler); a 503 means the database could not be
    reached, so normally nothing was stored (an `idempotency_key` covers the rare partial
    failure). A connection error or timeout is different: the request may have reached
    the server and been acted on. GETs are safe to resend. POST /v1/evaluations and /v1/comparisons
    are resent only with an `idempotency_key`: without one, each POST stores and judges a
    new evaluation (paying every judge again, maybe routing a second copy to reviewers);
    with one, the server answers a repeat of the same body with the stored evaluation.
    Review claims, verdicts and releases, and batches, are never resent on a lost answer.
    """

    @staticmethod
    def evaluate(
        panel: str,
        prompt: str,
        response: str,
        *,
        context: str | None = None,
        reference: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        wait: bool = True,
    ) -> Call[EvaluationPublic]:
        """Judge one response on a pointwise panel. `wait=False` sends `Prefer:
        respond-async` and returns the stored `pending` evaluation at once (see `wait_for`).
        Arguments the schema rejects raise pydantic.ValidationError before sending."""
        fields = PointwiseInput(
            prompt=prompt, response=response, context=context, reference=reference
        )
        body = EvaluationCreate(
            panel=panel, input=fields, metadata=metadata or {}, idempotency_key=idempotency_key
        )
        return _submit("/v1/evaluations", body, wait)

    @staticmethod
    def compare(
        panel: str,
        prompt: str,
        response_a: str,
        response_b: str,
        *,
        context: str | None = None,
        reference: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        wait: bool = True,
    ) -> Call[EvaluationPublic]:
        """Compare two responses on a pairwise panel; `winner` is "a", "b" or "tie"."""
        fields = PairwiseInput(
            prompt=prompt,
            response_a=response_a,
            response_b=response_b,
            context=context,
            reference=reference,
        )
        body = ComparisonCreate(
            panel=panel, input=fields, metadata=metadata or {}, idempotency_key=idempotency_key
        )
        return _submit("/v1/comparisons", body, wait)

    @staticmethod
    def batch(
        items: Sequence[EvaluationCreate | ComparisonCreate | Mapping[str, Any]], wait: bool = True
    ) -> Call[list[BatchResult]]:
        """Many items judged concurrently; one `BatchResult` per item, in order, each with
        its evaluation or its own problem. Dict items are sent as they are (a comparison
        needs `"kind": "comparison"`). `wait=False`: every item is stored `pending`."""

        def raw(i: EvaluationCreate | ComparisonCreate | Mapping[str, Any]) -> dict[str, Any]:
            if isinstance(i, BaseModel):
                return _body(i) | (
                    {"kind": "comparison"} if isinstance(i, ComparisonCreate) else {}
                )
            return dict(i)

        body = _body(BatchCreate(items=[raw(i) for i in items]))
        headers = None if wait else RESPOND_ASYNC
        return Call("POST", "/v1/evaluations/batch", _many(BatchResult), body, None, headers)

    @staticmethod
    def get_evaluation(evaluation_id: str) -> Call[EvaluationPublic]:
        """One evaluation with its votes, verdict, routing and any human verdict."""
        return _get(_path("/v1/evaluations/{}", evaluation_id), _one(EvaluationPublic))

    @staticmethod
    def panels() -> Call[list[PanelPublic]]:
        """The configured panels."""
        return _get("/v1/panels", _many(PanelPublic))

    @staticmethod
    def rubrics() -> Call[list[RubricPublic]]:
        """The loaded rubrics."""
        return _get("/v1/rubrics", _many(RubricPublic))

    @staticmethod
    def reviews(
        status: str | None = None, panel: str | None = None, *, limit: int = 50, offset: int = 0
    ) -> Call[list[ReviewItemPublic]]:
        """Review items (status: pending, claimed or decided), most uncertain first."""
        parse = _many(ReviewItemPublic)
        return _get("/v1/reviews", parse, status=status, panel=panel, limit=limit, offset=offset)

    @staticmethod
    def claim(reviewer: str, panel: str | None = None) -> Call[ReviewItemPublic | None]:
        """The next item to review, leased to `reviewer`; None when the queue is empty (204)."""

        def parse(r: httpx.Response) -> ReviewItemPublic | None:
            return None if r.status_code == 204 else ReviewItemPublic.model_validate_json(r.content)

        body = _body(ClaimRequest(reviewer=reviewer, panel=panel))
        return Call("POST", "/v1/reviews/claim", parse, body)

    @staticmethod
    def decide(
        item_id: str, reviewer: str, value: ScaleValue | float, comment: str | None = None
    ) -> Call[ReviewItemPublic]:
        """Decide a claimed item with a value on the rubric's scale (pairwise: A, B, tie)."""
        body = _body(VerdictRequest(reviewer=reviewer, value=value, comment=comment))
        path = _path("/v1/reviews/{}/verdict", item_id)
        return Call("POST", path, _one(ReviewItemPublic), body)

    @staticmethod
    def release(item_id: str, reviewer: str) -> Call[ReviewItemPublic]:
        """Give a claimed item back to the queue."""
        body = _body(ReleaseRequest(reviewer=reviewer))
        path = _path("/v1/reviews/{}/release", item_id)
        return Call("POST", path, _one(ReviewItemPublic), body)

    @staticmethod
    def agreement(panel: str, window: str = "7d") -> Call[AgreementReport]:
        """Agreement statistics of a panel over a window such as 30m, 24h, 7d (admin scope)."""
        path = _path("/v1/panels/{}/agreement", panel)
        return _get(path, _one(AgreementReport), window=window)


class _Base:
    """Settings and the retry policy, shared by both clients."""

    backoff_base = 0.5
    backoff_cap = 20.0

    def __init__(self, api_key: str | None, max_retries: int, max_wait: float) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait
        """A Retry-After longer than this is not waited out: the error is raised at once."""
        self.headers = {"User-Agent": "quorum-client", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def _delay(
        self, call: Call[Any], attempt: int, outcome: httpx.Response | httpx.TransportError
    ) -> float | None:
        """Seconds before the next attempt, or None when `outcome` is final."""
        if attempt >= self.max_retries:
            return None
        if isinstance(outcome, httpx.TransportError):
            return self._backoff(attempt) if call.replayable else None
        if outcome.status_code not in RETRY_STATUSES:
            return None
        asked = parse_retry_after(outcome.headers.get("retry-after"))
        if asked is None:
            return self._backoff(attempt)
        return asked if asked <= self.max_wait else None

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter."""
        return _JITTER.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))

    @staticmethod
    def _result(call: Call[T], outcome: httpx.Response | httpx.TransportError) -> T:
        if isinstance(outcome, httpx.TransportError):
            raise outcome
        if outcome.is_error:
            raise error_for(outcome)
        return call.parse(outcome)

    @staticmethod
    def _wait_step(evaluation: EvaluationPublic, deadline: float, poll: float) -> float | None:
        """How long to sleep before polling again; None once the evaluation is done."""
        if evaluation.status != "pending":
            return None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"evaluation {evaluation.id} still pending")
        return min(poll, remaining)


def _adopt(method: Callable[..., Any], build: Callable[..., Call[Any]], owner: str) -> None:
    """Give a client method the name, docstring and signature (with `self`, and the parsed
    type as its return) of the `Endpoints` call it sends, for help() and editors."""
    sig = inspect.signature(build)
    returns = str(sig.return_annotation).removeprefix("Call[").removesuffix("]")
    this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__name__, method.__doc__ = build.__name__, build.__doc__
    method.__qualname__ = f"{owner}.{build.__name__}"
    method.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[this, *sig.parameters.values()], return_annotation=returns
    )


def _sync(build: Callable[P, Call[T]]) -> Callable[Concatenate[QuorumClient, P], T]:
    def method(self: QuorumClient, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(build(*args, **kwargs))

    _adopt(method, build, "QuorumClient")
    return method


def _async(
    build: Callable[P, Call[T]],
) -> Callable[Concatenate[AsyncQuorumClient, P], Awaitable[T]]:
    async def method(self: AsyncQuorumClient, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(build(*args, **kwargs))

    _adopt(method, build, "AsyncQuorumClient")
    return method


class QuorumClient(_Base):
    """Synchronous client. Use as a context manager, or call `close()`.

    Every method is the `Endpoints` call of the same name, sent with retries: 429 and 503
    at most `max_retries` times, waiting Retry-After (seconds or HTTP-date) or else capped
    exponential backoff with jitter; connection errors only where resending is safe.
    Error answers raise `QuorumAPIError` or its subclass for the status.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(api_key, max_retries, max_wait)
        self.http = httpx.Client(
            base_url=base_url, headers=self.headers, timeout=timeout, transport=transport
        )

    def send(self, call: Call[T]) -> T:
        """Send one call with the retry policy and parse its answer."""
        attempt = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = self.http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=call.headers
                )
            except httpx.TransportError as exc:
                outcome = exc
            delay = self._delay(call, attempt, outcome)
            if delay is None:
                return self._result(call, outcome)
            time.sleep(delay)
            attempt += 1

    evaluate = _sync(Endpoints.evaluate)
    compare = _sync(Endpoints.compare)
    batch = _sync(Endpoints.batch)
    get_evaluation = _sync(Endpoints.get_evaluation)
    panels = _sync(Endpoints.panels)
    rubrics = _sync(Endpoints.rubrics)
    reviews = _sync(Endpoints.reviews)
    claim = _sync(Endpoints.claim)
    decide = _sync(Endpoints.decide)
    release = _sync(Endpoints.release)
    agreement = _sync(Endpoints.agreement)

    def wait_for(
        self, evaluation_id: str, timeout: float = 60.0, poll_interval: float = 0.5
    ) -> EvaluationPublic:
        """Poll an evaluation until it is no longer `pending`; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            evaluation = self.get_evaluation(evaluation_id)
            if (pause := self._wait_step(evaluation, deadline, poll_interval)) is None:
                return evaluation
            time.sleep(pause)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> QuorumClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncQuorumClient(_Base):
    """Asynchronous client: the methods of `QuorumClient`, awaited. `async with`, or
    `await aclose()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_wait: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(api_key, max_retries, max_wait)
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=self.headers, timeout=timeout, transport=transport
        )

    async def send(self, call: Call[T]) -> T:
        """Send one call with the retry policy and parse its answer."""
        attempt = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = await self.http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=call.headers
                )
            except httpx.TransportError as exc:
                outcome = exc
            delay = self._delay(call, attempt, outcome)
            if delay is None:
                return self._result(call, outcome)
            await asyncio.sleep(delay)
            attempt += 1

    evaluate = _async(Endpoints.evaluate)
    compare = _async(Endpoints.compare)
    batch = _async(Endpoints.batch)
    get_evaluation = _async(Endpoints.get_evaluation)
    panels = _async(Endpoints.panels)
    rubrics = _async(Endpoints.rubrics)
    reviews = _async(Endpoints.reviews)
    claim = _async(Endpoints.claim)
    decide = _async(Endpoints.decide)
    release = _async(Endpoints.release)
    agreement = _async(Endpoints.agreement)

    async def wait_for(
        self, evaluation_id: str, timeout: float = 60.0, poll_interval: float = 0.5
    ) -> EvaluationPublic:
        """Poll an evaluation until it is no longer `pending`; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            evaluation = await self.get_evaluation(evaluation_id)
            if (pause := self._wait_step(evaluation, deadline, poll_interval)) is None:
                return evaluation
            await asyncio.sleep(pause)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncQuorumClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
