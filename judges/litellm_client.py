"""The litellm adapter: the only module that imports litellm.

`configure_litellm()` sets litellm's global flags; call it once at start-up (the api
lifespan does). `LiteLLMClient.complete` sends one request through `litellm.acompletion`
and maps litellm's exceptions onto our retryable/permanent call errors.
"""

from __future__ import annotations

import logging
import os
from typing import Any

# litellm fetches its price list from the network at import unless told not to; the
# packaged copy is used instead (set LITELLM_LOCAL_MODEL_COST_MAP=False to fetch).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import litellm

from judges.client import ChatRequest, ChatResult, TokenLogprob, TopLogprob
from judges.errors import CallErrorKind, JudgeCallError, PermanentCallError, RetryableCallError

NO_KEY_PLACEHOLDER = "no-key"
"""Sent to keyless OpenAI-compatible servers (vLLM, Ollama): the OpenAI SDK insists on a key."""

_configured = False


def configure_litellm() -> None:
    """Set litellm's process-wide flags. Idempotent; never called from a constructor."""
    global _configured
    if _configured:
        return
    litellm.drop_params = True  # providers without JSON mode or logprobs just ignore them
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    # litellm logs two INFO lines per call; a service making hundreds of calls a second
    # pays for formatting them. Its warnings and errors still show.
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    _configured = True


def _retry_after(exc: Exception) -> float | None:
    # litellm keeps the provider's headers in `litellm_response_headers`; its `response` is
    # often a synthetic httpx.Response without them.
    raw = None
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(exc, "headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        found = {str(k).lower(): v for k, v in (headers or {}).items()}.get("retry-after")
        if found is not None:
            raw = found
            break
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _connection_failed(exc: BaseException) -> bool:
    """Whether a connection failure is behind `exc` (litellm reports some as HTTP 500)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ConnectionError | httpx.ConnectError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def map_exception(exc: Exception) -> JudgeCallError:
    """Translate a litellm/OpenAI SDK exception into our error tree."""
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, litellm.Timeout | TimeoutError):
        return RetryableCallError(CallErrorKind.TIMEOUT, detail)
    if isinstance(exc, litellm.RateLimitError):
        return RetryableCallError(
            CallErrorKind.RATE_LIMITED, detail, retry_after_s=_retry_after(exc)
        )
    status = getattr(exc, "status_code", None)
    # litellm raises BadRequestError for any "invalid_request_error" body, whatever the
    # status: the status decides between auth, not-found and bad-request.
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError) or status in (
        401,
        403,
    ):
        return PermanentCallError(CallErrorKind.AUTH, detail)
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return PermanentCallError(CallErrorKind.NOT_FOUND, detail)
    if isinstance(exc, litellm.BadRequestError | litellm.UnprocessableEntityError):
        return PermanentCallError(CallErrorKind.BAD_REQUEST, detail)
    if isinstance(exc, litellm.APIConnectionError) or _connection_failed(exc):
        return RetryableCallError(CallErrorKind.CONNECTION, detail)
    if isinstance(status, int):
        if status == 429:
            return RetryableCallError(
                CallErrorKind.RATE_LIMITED, detail, retry_after_s=_retry_after(exc)
            )
        if status >= 500:
            return RetryableCallError(CallErrorKind.SERVER_ERROR, detail)
        if status in (401, 403):
            return PermanentCallError(CallErrorKind.AUTH, detail)
        if status == 404:
            return PermanentCallError(CallErrorKind.NOT_FOUND, detail)
        if 400 <= status < 500:
            return PermanentCallError(CallErrorKind.BAD_REQUEST, detail)
    return RetryableCallError(CallErrorKind.OTHER, detail)


def _logprobs(choice: Any) -> tuple[TokenLogprob, ...] | None:
    lp = getattr(choice, "logprobs", None)
    content = getattr(lp, "content", None) if lp is not None else None
    if content is None and isinstance(lp, dict):
        content = lp.get("content")
    if not content:
        return None
    out = []
    for tok in content:
        tops = _field(tok, "top_logprobs") or []
        out.append(
            TokenLogprob(
                token=str(_field(tok, "token")),
                logprob=float(_field(tok, "logprob")),
                top=tuple(
                    TopLogprob(token=str(_field(t, "token")), logprob=float(_field(t, "logprob")))
                    for t in tops
                ),
            )
        )
    return tuple(out)


def _field(obj: Any, name: str) -> Any:
    """Read a field from a litellm object or a plain dict alike."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


class LiteLLMClient:
    """ChatClient over `litellm.acompletion`; retries are the panel runner's job."""

    def __init__(self, top_logprobs: int = 5) -> None:
        self._top_logprobs = top_logprobs

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

    async def complete(self, request: ChatRequest) -> ChatResult:
        kwargs = self._kwargs(request)
        try:
            response = await litellm.acompletion(**kwargs)
        except JudgeCallError:
            raise
        except Exception as exc:
            raise map_exception(exc) from exc
        if response is None or not getattr(response, "choices", None):
            # litellm returns None when a 422 repeats after it dropped params (drop_params)
            raise RetryableCallError(CallErrorKind.OTHER, "the provider returned no choices")
        choice = response.choices[0]
        # A NUL character cannot be stored in PostgreSQL text; it carries no meaning here.
        text = (getattr(choice.message, "content", None) or "").replace("\x00", "\ufffd")
        usage = getattr(response, "usage", None)
        return ChatResult(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            cost_usd=_cost(response),
            logprobs=_logprobs(choice),
        )


def _cost(response: Any) -> float | None:
    """The call's cost in USD; None when the model's price is unknown (not zero)."""
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:  # litellm already priced the call while logging it
        cost = hidden["response_cost"]
        return float(cost) if cost is not None else None
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:
        return None
