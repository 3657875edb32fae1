"""The litellm adapter: the only module that imports litellm.

`configure_litellm()` sets litellm's global flags; call it once at start-up (the api
lifespan does). `LiteLLMClient.complete` sends one request through `litellm.acompletion`
and maps litellm's exceptions onto our retryable/permanent call errors. Every call of a
client goes out on one long-lived aiohttp session (`shared_session`, pooled per endpoint),
which `LiteLLMClient.aclose` closes. A model name litellm has no price for is entered in
its price map at zero on first use (`_known_to_litellm`), its cost still reported unknown.
For OpenAI-compatible providers litellm's synchronous half runs on the loop's thread and
aiohttp writes the body at once (`judges.loop_hops`): two event-loop hops less per call.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import math
import os
import weakref
from typing import Any

# litellm fetches its price list from the network at import unless told not to; the
# packaged copy is used instead (set LITELLM_LOCAL_MODEL_COST_MAP=False to fetch).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import aiohttp
import httpx
import litellm
import litellm.main

from judges import loop_hops
from judges.client import ChatRequest, ChatResult, CostSource, read_logprobs, token_count
from judges.errors import CallErrorKind, JudgeCallError, PermanentCallError, RetryableCallError
from judges.heap import freeze_start_up_heap
from judges.hints import retry_after_s

try:  # litellm's flag for a call whose logging a parent call does (1.110: a ContextVar)
    from litellm._internal_context import is_internal_call as _unlogged
except ImportError:  # pragma: no cover - a litellm without it logs every call, as before
    _unlogged = None  # type: ignore[assignment, misc]

NO_KEY_PLACEHOLDER = "no-key"
"""Sent to keyless OpenAI-compatible servers (vLLM, Ollama): the OpenAI SDK insists on a key."""

_configured = False

_UNPRICED: set[str] = set()
"""Model names litellm has no price for, entered in its price map at zero (`_known_to_litellm`)."""
_PRICE_LOOKED_UP: set[str] = set()


def _known_to_litellm(model: str) -> None:
    """Look the model's price up once per process; a name litellm cannot price is entered
    in `litellm.model_cost` at zero, and a zero litellm then finds for it is reported as
    unknown (`_cost`). litellm prices a response by the model that served it when that one
    has a price (an Azure deployment answering as `gpt-4o`): such a cost stays as it is.

    litellm prices every response. For a name it has no price for (a local vLLM model, an
    alias behind a proxy), its failing lookup walks the whole price map and its name
    generalisations again on every call, and records a failure diagnostic: ~0.5 ms of CPU
    per call, for a price it never finds. Entered once, the lookup hits."""
    if model in _PRICE_LOOKED_UP:
        return
    _PRICE_LOOKED_UP.add(model)
    try:
        litellm.cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
        return  # priced (directly or through litellm's name generalisations)
    except Exception:
        pass
    try:
        provider = litellm.get_llm_provider(model)[1]
    except Exception:  # an unknown provider: the call itself will tell
        return
    litellm.model_cost[model] = {
        "litellm_provider": provider,
        "mode": "chat",
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
    }
    _UNPRICED.add(model)


INLINE_PROVIDERS = frozenset({"openai", "hosted_vllm"})
"""Providers whose synchronous half in litellm reads only parameters and the environment
(no credential refresh, no network): it runs on the loop's thread (`judges.loop_hops`)."""
_INLINE: dict[str, bool] = {}


def _runs_inline(model: str) -> bool:
    if model not in _INLINE:
        try:
            _INLINE[model] = litellm.get_llm_provider(model)[1] in INLINE_PROVIDERS
        except Exception:  # an unknown provider: the call itself will tell
            _INLINE[model] = False
    return _INLINE[model]


def _litellm_sync_half(func: object) -> bool:
    """Whether `func` is what `litellm.acompletion` hands to the default executor:
    `partial(context.run, partial(litellm.main.completion, ...))`."""
    inner = func.args[0] if isinstance(func, functools.partial) and func.args else None
    return isinstance(inner, functools.partial) and inner.func is litellm.main.completion


def _unobserved() -> bool:
    """Whether no litellm callback is registered: then the success and failure logging
    litellm runs after every call (a task that builds its standard logging payload for
    the callbacks, about 15% of its CPU per call against the judge double) has no reader,
    and `complete` marks its calls as litellm's internal ones, which skip it. The cost
    Quorum reads is set before that logging, on the response itself. A callback
    registered later (an operator's Langfuse, say) is seen on the next call."""
    return not (
        litellm.callbacks
        or litellm.success_callback
        or litellm._async_success_callback
        or litellm.failure_callback
        or litellm._async_failure_callback
    )


def _custom_priced(params: dict[str, Any]) -> bool:
    """Whether the call carries its own prices (`input_cost_per_token`... as judge params)."""
    return any("cost_per" in k and v is not None for k, v in params.items())


OPENAI_HTTP_HANDLER_ENV = "EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER"
"""litellm's switch (read on every call) that sends `openai/` chat calls through its own
HTTP handler (`base_llm_http_handler` with the OpenAI transformation, on the shared
aiohttp session) instead of building an openai SDK request and response object.
`configure_litellm` sets it to true unless the environment already sets it: about 0.7x
litellm's CPU per call against the judge double (docs/benchmarks.md). Set it to false to
go back to the openai SDK path."""


def configure_litellm() -> None:
    """Set litellm's process-wide flags and freeze what its import built out of the cyclic
    collector's way (`judges.heap`). Idempotent; never called from a constructor."""
    global _configured
    if _configured:
        return
    os.environ.setdefault(OPENAI_HTTP_HANDLER_ENV, "true")
    litellm.drop_params = True  # providers without JSON mode or logprobs just ignore them
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    # litellm logs two INFO lines per call; a service making hundreds of calls a second
    # pays for formatting them. Its warnings and errors still show.
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    freeze_start_up_heap("litellm")  # its ~420k import-time objects (judges.heap)
    _configured = True


async def stop_litellm_worker() -> None:
    """Stop litellm's background logging worker on the running loop. A command that runs
    calls in a short-lived loop (`asyncio.run`) calls it before the loop ends; otherwise
    the loop closes over the worker's pending task ("Task was destroyed but it is
    pending!"). The worker starts again on the next call."""
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    with contextlib.suppress(Exception):  # best effort: never fail a finished command
        await GLOBAL_LOGGING_WORKER.stop(timeout=2)


def _retry_after(exc: Exception) -> float | None:
    """The provider's or proxy's retry hint on a failed call, in seconds (`judges.hints`)."""
    # litellm keeps the provider's headers in `litellm_response_headers`; its `response` is
    # often a synthetic httpx.Response without them.
    return retry_after_s(
        (
            getattr(exc, "litellm_response_headers", None),
            getattr(exc, "headers", None),
            getattr(getattr(exc, "response", None), "headers", None),
        )
    )


def _connection_failed(exc: BaseException) -> bool:
    """Whether a connection failure is behind `exc` (litellm reports some as HTTP 500)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ConnectionError | httpx.ConnectError | aiohttp.ClientConnectionError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


UNREADABLE_ANSWER = "Invalid response object"
"""How litellm's error begins when an answer is not a chat completion it can convert (content
as a list of parts, usage as text...). It raises it as a connection error; the endpoint
answered, so it is no outage and must not count towards opening the circuit."""
UNREADABLE_DETAIL = "the provider's answer is not a chat completion litellm can read"


def map_exception(exc: Exception) -> JudgeCallError:
    """Translate a litellm/OpenAI SDK exception into our error tree."""
    detail = str(exc) if str(exc).strip() else type(exc).__name__  # made readable by the error
    raw_status = getattr(exc, "status_code", None)
    status = raw_status if isinstance(raw_status, int) and 100 <= raw_status <= 599 else None
    if isinstance(exc, litellm.Timeout | TimeoutError):
        return RetryableCallError(CallErrorKind.TIMEOUT, detail)
    if isinstance(exc, litellm.RateLimitError):
        return RetryableCallError(
            CallErrorKind.RATE_LIMITED, detail, retry_after_s=_retry_after(exc), status=429
        )
    # litellm raises BadRequestError for any "invalid_request_error" body, whatever the
    # status: the status decides between auth, not-found and bad-request.
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError) or status in (
        401,
        403,
    ):
        return PermanentCallError(CallErrorKind.AUTH, detail, status=status)
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return PermanentCallError(CallErrorKind.NOT_FOUND, detail, status=status)
    if isinstance(exc, litellm.BadRequestError | litellm.UnprocessableEntityError):
        return PermanentCallError(CallErrorKind.BAD_REQUEST, detail, status=status)
    if UNREADABLE_ANSWER in str(exc):  # litellm could not convert the provider's answer
        return RetryableCallError(CallErrorKind.OTHER, UNREADABLE_DETAIL)  # its 500 is made up
    if isinstance(exc, litellm.APIConnectionError) or _connection_failed(exc):
        # litellm reports some refused connections as a 500 it made up: no status then
        return RetryableCallError(CallErrorKind.CONNECTION, detail)
    if status is not None:
        if status == 429:
            return RetryableCallError(
                CallErrorKind.RATE_LIMITED, detail, retry_after_s=_retry_after(exc), status=429
            )
        if status >= 500:
            return RetryableCallError(
                CallErrorKind.SERVER_ERROR, detail, retry_after_s=_retry_after(exc), status=status
            )
        if 400 <= status < 500:
            return PermanentCallError(CallErrorKind.BAD_REQUEST, detail, status=status)
    return RetryableCallError(CallErrorKind.OTHER, detail, status=status)


KEEPALIVE_S = 15.0
"""How long an idle pooled connection to a judge endpoint stays open (litellm's default)."""

_LEFT_OPEN: weakref.WeakSet[aiohttp.ClientSession] = weakref.WeakSet()
"""Sessions of clients never closed (a test's, a script's): closed at exit, as litellm
closes its own cached sessions, so that none complains at interpreter shutdown."""


@atexit.register
def _close_left_open() -> None:
    sessions = [s for s in _LEFT_OPEN if not s.closed]
    if not sessions:
        return
    loop = asyncio.new_event_loop()  # their own loops are gone by now
    try:
        for session in sessions:
            with contextlib.suppress(Exception):  # a connector of a closed loop: marked closed
                loop.run_until_complete(session.close())
    finally:
        loop.close()


class LiteLLMClient:
    """ChatClient over `litellm.acompletion`; retries are the panel runner's job.

    Its calls share one aiohttp session (made in the running event loop on first use),
    handed to litellm as `shared_session`: the same pooled transport litellm would make
    itself, without the per-request trace hooks of litellm's pool diagnostics and its
    per-call client-cache lookups. Close it with `aclose()` when done."""

    def __init__(self, top_logprobs: int = 5) -> None:
        self._top_logprobs = top_logprobs
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _shared_session(self) -> aiohttp.ClientSession:
        """This client's session in the running loop (a new loop gets a new session)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(  # as litellm's own (its SSL settings
                    limit=1000,  # are applied per request, on a shared session too)
                    limit_per_host=500,
                    keepalive_timeout=KEEPALIVE_S,
                    local_addr=("0.0.0.0", 0) if litellm.force_ipv4 else None,
                ),
                cookie_jar=aiohttp.DummyCookieJar(),  # judge calls carry no cookies
                trust_env=litellm.aiohttp_trust_env
                or os.environ.get("AIOHTTP_TRUST_ENV", "").lower() in ("1", "true"),
            )
            self._loop = loop
            _LEFT_OPEN.add(self._session)
            loop_hops.install(loop)
        return self._session

    async def aclose(self) -> None:
        """Close the shared session (the pooled connections); a later call opens another."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            **request.params,
            "model": request.model,
            "messages": [dict(m) for m in request.messages],
            "timeout": request.timeout_s,
            "num_retries": 0,
        }
        if request.api_base:
            kwargs["api_base"] = request.api_base
        if request.api_key_env:
            key = os.environ.get(request.api_key_env)
            if not key:
                raise PermanentCallError(
                    CallErrorKind.AUTH, f"environment variable {request.api_key_env} is not set"
                )
            kwargs["api_key"] = key
        elif request.api_base:
            kwargs["api_key"] = NO_KEY_PLACEHOLDER
        if request.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if request.logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = self._top_logprobs
        return kwargs

    def key_problem(self, request: ChatRequest) -> str | None:
        """Why a call could not authenticate, checked without calling: the judge's
        `api_key_env` variable unset, or (no api_key_env, no api_base) the provider's usual
        variable that litellm reads (OPENAI_API_KEY for openai/ models...). None: no
        known problem (keyless OpenAI-compatible servers need none)."""
        if request.api_key_env:
            if os.environ.get(request.api_key_env):
                return None
            return f"{request.api_key_env} is not set (export it: the judge's api_key_env)"
        if request.api_base:
            return None
        try:
            found = litellm.validate_environment(model=request.model)
        except Exception:  # an unknown provider: the call itself will tell
            return None
        missing = [str(k) for k in found.get("missing_keys") or []]
        if found.get("keys_in_environment") or not missing:
            return None
        return f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set (export it)"

    async def complete(self, request: ChatRequest) -> ChatResult:
        kwargs = self._kwargs(request)
        kwargs["shared_session"] = self._shared_session()
        _known_to_litellm(request.model)
        inline = _litellm_sync_half if _runs_inline(request.model) else None
        quiet = _unlogged.set(True) if _unlogged is not None and _unobserved() else None
        try:
            with loop_hops.inline_sync(inline):
                response = await litellm.acompletion(**kwargs)
        except JudgeCallError:
            raise
        except Exception as exc:
            raise map_exception(exc) from exc
        finally:
            if quiet is not None:
                _unlogged.reset(quiet)
        if response is None or not getattr(response, "choices", None):
            # litellm returns None when a 422 repeats after it dropped params (drop_params)
            raise RetryableCallError(CallErrorKind.OTHER, "the provider returned no choices")
        choice = response.choices[0]
        content = getattr(getattr(choice, "message", None), "content", None)
        # A NUL character cannot be stored in PostgreSQL text; it carries no meaning here.
        text = (content if isinstance(content, str) else "").replace("\x00", "\ufffd")
        notes = [] if text else _why_no_text(getattr(choice, "message", None))
        usage = getattr(response, "usage", None)
        tokens = {}
        for name in ("prompt_tokens", "completion_tokens"):
            reported = getattr(usage, name, None)
            tokens[name] = token_count(reported)
            if reported is not None and tokens[name] is None:
                notes.append(f"usage {name} {str(reported)[:24]!r} ignored: not a token count")
        unpriced = request.model in _UNPRICED and not _custom_priced(request.params)
        cost, source = _cost(response, unpriced=unpriced)
        if None in tokens.values() and source == "price_list":
            cost, source = None, None  # priced from usage figures that are not ones
        logprobs, ignored = read_logprobs(choice)
        finish = getattr(choice, "finish_reason", None)
        return ChatResult(
            text=text,
            **tokens,
            cost_usd=cost,
            cost_source=source,
            logprobs=logprobs,
            finish_reason=finish if isinstance(finish, str) else None,
            notes=(*notes, *([ignored] if ignored else [])),
        )


def _why_no_text(message: Any) -> list[str]:
    """What an answer with no text said instead, for the vote's detail: a refusal (the
    provider's own field) or tool calls (a judge that was not asked for any)."""
    refusal = getattr(message, "refusal", None)
    if isinstance(refusal, str) and refusal.strip():
        return [f"the model refused: {refusal.strip()[:200]}"]
    if getattr(message, "tool_calls", None):
        return ["the answer is a tool call, not text"]
    return []


PROVIDER_COST_HEADER = "x-litellm-response-cost"
"""The cost a LiteLLM proxy (or litellm itself, for providers that report one) puts on a
response: what the call was billed, whatever the model's name suggests."""


def _reported_cost(response: Any) -> float | None:
    """The cost the provider or proxy reported on the response, if it did."""
    hidden = getattr(response, "_hidden_params", None) or {}
    raw = getattr(response, "_response_headers", None) or {}
    forwarded = hidden.get("additional_headers") or {}
    for headers, name in (
        (raw, PROVIDER_COST_HEADER),
        (forwarded, f"llm_provider-{PROVIDER_COST_HEADER}"),
    ):
        cost = _as_cost({str(k).lower(): v for k, v in headers.items()}.get(name))
        if cost is not None:
            return cost
    return None


def _as_cost(value: object) -> float | None:
    """`value` as a cost in USD when it is one (a finite number >= 0), else None."""
    try:
        cost = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return cost if math.isfinite(cost) and cost >= 0 else None


def _cost(response: Any, unpriced: bool = False) -> tuple[float | None, CostSource | None]:
    """The call's cost in USD and where it came from; None when unknown (not zero), as for
    an `unpriced` model (one litellm has no price for, entered at zero by Quorum) that
    litellm priced at that zero.

    The provider's (or proxy's) own figure wins over the local price list: a proxy alias
    named like a priced model (`gpt-4o-mini`) may be any deployment at any price."""
    reported = _reported_cost(response)
    if reported is not None:
        return reported, "provider"
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:  # litellm already priced the call while logging it
        cost = hidden["response_cost"]
        if cost is None or (unpriced and not cost):  # not, or by Quorum's zero entry
            return None, None
        return _usable_cost(cost)
    if unpriced:
        return None, None
    try:
        return _usable_cost(litellm.completion_cost(completion_response=response))
    except Exception:
        return None, None


def _usable_cost(cost: object) -> tuple[float | None, CostSource | None]:
    """A price-list cost when it is one (`_as_cost`), else unknown."""
    value = _as_cost(cost)
    return (value, "price_list") if value is not None else (None, None)
