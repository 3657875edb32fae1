"""The two clients, `QuorumClient` and `AsyncQuorumClient`, over httpx.

Both send the same request specs (`Endpoints`, in `_endpoints`: one `Call` per endpoint)
through the same retry policy (`_Base`); only the I/O differs. Answers are the client's
own pydantic models (`_models`), which the Quorum test suite compares with the service's
OpenAPI schema. See docs/client.md in the Quorum repository.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import httpx

from quorum_client._arguments import (
    MAX_TIMEOUT_S,
    check_api_key,
    check_base_url,
    check_count,
    check_seconds,
    check_timeout,
)
from quorum_client._endpoints import Call, Endpoints
from quorum_client._errors import (
    UnexpectedResponseError,
    error_for,
    parse_retry_after,
    unreadable,
)
from quorum_client._models import EvaluationPublic

_JITTER = random.Random()  # our own: the global generator belongs to the application
T = TypeVar("T")
P = ParamSpec("P")
RETRY_STATUSES = frozenset({429, 503})


class _Base:
    """Settings and the retry policy, shared by both clients."""

    backoff_base = 0.5
    backoff_cap = 20.0

    def __init__(self, api_key: str | None, max_retries: int, max_wait: float) -> None:
        self.max_retries = check_count("max_retries", max_retries, maximum=100)
        self.max_wait = check_seconds("max_wait", max_wait, maximum=MAX_TIMEOUT_S, zero=True)
        """A Retry-After longer than this is not waited out: the error is raised at once.
        Also how long `evaluate`/`compare` with `wait=True` poll an evaluation the server
        answered still `pending` (then TimeoutError)."""
        self.headers = {"User-Agent": "quorum-client", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {check_api_key(api_key)}"

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
        if not outcome.is_success:  # a redirect: httpx follows none, nor should a POST
            where = outcome.headers.get("location")
            what = f"a redirect to {where}" if where else "a redirect without a Location"
            raise UnexpectedResponseError.of(outcome, what)
        try:
            return call.parse(outcome)
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            what = f"unreadable: {unreadable(exc)}"
            raise UnexpectedResponseError.of(outcome, what) from exc

    @staticmethod
    def _pending(call: Call[Any], result: object) -> str | None:
        """The id of an evaluation answered still `pending` to a call that waits for it."""
        if call.settle and isinstance(result, EvaluationPublic) and result.status == "pending":
            return result.id
        return None

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
    Error answers raise `QuorumAPIError` or its subclass for the status; an answer that
    is not Quorum's (a redirect, a success whose body does not parse) raises
    `UnexpectedResponseError`. A `base_url` that is not an http(s) URL, or a timeout that
    is not a finite number of seconds in (0, 3600], is a `ValueError` here.
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = 60.0,
        max_retries: int = 3,
        max_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(api_key, max_retries, max_wait)
        self.http = httpx.Client(
            base_url=check_base_url(base_url),
            headers=self.headers,
            timeout=check_timeout(timeout, maximum=MAX_TIMEOUT_S),
            transport=transport,
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
                result = self._result(call, outcome)
                if (pending := self._pending(call, result)) is not None:
                    return cast(T, self.wait_for(pending, timeout=self.max_wait))
                return result
            time.sleep(delay)
            attempt += 1

    evaluate = _sync(Endpoints.evaluate)
    assess = _sync(Endpoints.assess)
    get_assessment = _sync(Endpoints.get_assessment)
    profiles = _sync(Endpoints.profiles)
    compare = _sync(Endpoints.compare)
    batch = _sync(Endpoints.batch)
    get_evaluation = _sync(Endpoints.get_evaluation)
    evaluations = _sync(Endpoints.evaluations)
    panels = _sync(Endpoints.panels)
    rubrics = _sync(Endpoints.rubrics)
    reviews = _sync(Endpoints.reviews)
    claim = _sync(Endpoints.claim)
    decide = _sync(Endpoints.decide)
    release = _sync(Endpoints.release)
    agreement = _sync(Endpoints.agreement)
    models = _sync(Endpoints.models)
    model = _sync(Endpoints.model)
    transitions = _sync(Endpoints.transitions)
    transition = _sync(Endpoints.transition)
    evaluate_model = _sync(Endpoints.evaluate_model)
    recommendation = _sync(Endpoints.recommendation)
    compliance = _sync(Endpoints.compliance)

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
        base_url: str | httpx.URL,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = 60.0,
        max_retries: int = 3,
        max_wait: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(api_key, max_retries, max_wait)
        self.http = httpx.AsyncClient(
            base_url=check_base_url(base_url),
            headers=self.headers,
            timeout=check_timeout(timeout, maximum=MAX_TIMEOUT_S),
            transport=transport,
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
                result = self._result(call, outcome)
                if (pending := self._pending(call, result)) is not None:
                    return cast(T, await self.wait_for(pending, timeout=self.max_wait))
                return result
            await asyncio.sleep(delay)
            attempt += 1

    evaluate = _async(Endpoints.evaluate)
    assess = _async(Endpoints.assess)
    get_assessment = _async(Endpoints.get_assessment)
    profiles = _async(Endpoints.profiles)
    compare = _async(Endpoints.compare)
    batch = _async(Endpoints.batch)
    get_evaluation = _async(Endpoints.get_evaluation)
    evaluations = _async(Endpoints.evaluations)
    panels = _async(Endpoints.panels)
    rubrics = _async(Endpoints.rubrics)
    reviews = _async(Endpoints.reviews)
    claim = _async(Endpoints.claim)
    decide = _async(Endpoints.decide)
    release = _async(Endpoints.release)
    agreement = _async(Endpoints.agreement)
    models = _async(Endpoints.models)
    model = _async(Endpoints.model)
    transitions = _async(Endpoints.transitions)
    transition = _async(Endpoints.transition)
    evaluate_model = _async(Endpoints.evaluate_model)
    recommendation = _async(Endpoints.recommendation)
    compliance = _async(Endpoints.compliance)

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
