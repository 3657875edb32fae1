"""`QuorumCallback`: a litellm `CustomLogger` that sends a share of successful chat
completions to Quorum in the background, and a LiteLLM proxy pre-call hook that refuses,
or reroutes to the recommended model, a call to a model in quarantine.

The application's call never waits for Quorum and never fails because of it: a sampled
completion is put on a bounded queue (dropped and counted when full) and a background
thread POSTs it (`Prefer: respond-async`, with an idempotency key from litellm's call id,
so a resend after a lost answer is safe). The hook asks Quorum for the model's zone, cached
for `zone_ttl_s`; if Quorum cannot say (or the hook itself fails), the call goes through
(fails open), with a log line (the first of each kind of failure, then one a minute) and
the `failed_open` count.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from litellm.integrations.custom_logger import CustomLogger
from pydantic import ValidationError

from quorum_client._client import QuorumClient
from quorum_client._endpoints import RESPOND_ASYNC, Call
from quorum_client._requests import MAX_MESSAGES, AssessmentCreate, EvaluationCreate
from quorum_client.litellm._extract import (
    MAX_MODEL,
    Completion,
    call_id_of,
    completion_of,
    metadata_of,
    use_case_of,
)
from quorum_client.litellm._sender import Sender
from quorum_client.litellm._settings import CallbackSettings
from quorum_client.litellm._throttle import Throttle, kind_of
from quorum_client.litellm._zones import Governance, Recommendation, TTLCache

log = logging.getLogger("quorum_client.litellm")
QUARANTINE = "quarantine"
PROXY_CHAT_CALLS = frozenset({"completion", "acompletion", "text_completion"})


@dataclass(frozen=True)
class CallbackStats:
    """What the callback has done since it started (counts only ever grow)."""

    seen: int
    """Successful completions it was told of (each call once)."""
    sampled_out: int
    """Left out by `sample`."""
    skipped: int
    """Not judgeable: no text answer, not a chat completion, or an input Quorum refuses."""
    enqueued: int
    dropped: int
    """The queue was full: never sent."""
    sent: int
    failed: int
    """Quorum refused it or did not answer (after retries)."""
    queued: int
    """Waiting now."""
    refused: int
    """Pre-call hook: calls to a model in quarantine refused."""
    rerouted: int
    failed_open: int
    """Pre-call hook: calls let through because Quorum could not say the model's zone."""


class QuorumCallback(CustomLogger):
    """Send successful completions to Quorum; guard the proxy against quarantined models.

    Arguments are `CallbackSettings` fields (`url`, `api_key`, `panel` or `profile`,
    `sample`, `use_case`, `queue_size`, `on_quarantine`, ...), or give `settings`.
    """

    def __init__(self, settings: CallbackSettings | None = None, **given: Any) -> None:
        super().__init__()
        if settings is not None and given:
            raise TypeError(f"give either settings or arguments, not both: {sorted(given)}")
        self.settings = settings or CallbackSettings(**given)
        s = self.settings
        self._random = random.Random(s.seed)
        self._client = QuorumClient(s.url, s.api_key, timeout=s.timeout_s, max_retries=2)
        self._throttle = Throttle()
        self._sender: Sender[dict[str, Any]] = Sender(
            self._post, s.queue_size, throttle=self._throttle
        )
        self._governance = Governance(s.url, s.api_key, s.lookup_timeout_s)
        self._zones: TTLCache[str] = TTLCache(s.zone_ttl_s)
        self._recommendations: TTLCache[Recommendation] = TTLCache(s.zone_ttl_s)
        self._seen_ids: dict[str, None] = {}
        self._counts = {"seen": 0, "sampled_out": 0, "skipped": 0}
        self._counts |= {"refused": 0, "rerouted": 0, "failed_open": 0}
        self._lock = threading.Lock()  # sync success events arrive from litellm's threads

    def _count(self, name: str) -> int:
        with self._lock:
            self._counts[name] += 1
            return self._counts[name]

    @classmethod
    def from_env(cls, **given: Any) -> QuorumCallback:
        """Configured from QUORUM_* variables (`quorum_client.litellm.ENV`)."""
        return cls(CallbackSettings.from_env(**given))

    # -- the logger ---------------------------------------------------------------------

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._offer(kwargs, response_obj)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._offer(kwargs, response_obj)

    def _offer(self, kwargs: Any, response: Any) -> None:
        """Sample, build the body, queue it. Never raises: litellm calls this inside the
        application's call."""
        try:
            if not isinstance(kwargs, dict) or self._repeat(call_id_of(kwargs)):
                return
            self._count("seen")
            with self._lock:
                draw = self._random.random()
            if draw >= self.settings.sample:
                self._count("sampled_out")
                return
            completion = completion_of(kwargs, response, self.settings.use_case)
            body = self._body(completion) if completion is not None else None
            if body is None:
                self._count("skipped")
                return
            self._sender.offer(body)
        except Exception as exc:  # a bug here must not break the application's call
            skipped = self._count("skipped")
            if self._throttle(f"offer {kind_of(exc)}"):
                log.warning(
                    "quorum callback: completion not sent (%d skipped so far): %s",
                    skipped,
                    f"{type(exc).__name__}: {exc}"[:300],
                )

    def _repeat(self, call_id: object) -> bool:
        """True for a call already offered (litellm may report one call twice)."""
        if not isinstance(call_id, str):
            return False
        with self._lock:
            if call_id in self._seen_ids:
                return True
            self._seen_ids[call_id] = None
            if len(self._seen_ids) > 4096:
                del self._seen_ids[next(iter(self._seen_ids))]
            return False

    def _body(self, c: Completion) -> dict[str, Any] | None:
        """The POST body for `c`, or None when Quorum would refuse its input."""
        s = self.settings
        turns = [{"role": role, "content": text} for role, text in c.turns][-MAX_MESSAGES:]
        metadata: dict[str, Any] = {"source": "litellm"}
        if s.app:
            metadata["app"] = s.app
        common: dict[str, Any] = {
            "input": {"messages": turns},
            "metadata": metadata,
            "idempotency_key": f"litellm:{c.call_id}" if c.call_id else None,
            "subject": {"model": c.model, "version": c.version},
            "use_case": c.use_case,
        }
        try:
            request: EvaluationCreate | AssessmentCreate
            if s.panel is not None:
                request = EvaluationCreate.model_validate({"panel": s.panel, **common})
            else:
                request = AssessmentCreate.model_validate({"profile": s.profile, **common})
        except ValidationError:
            return None
        return request.model_dump(mode="json", exclude_none=True)

    def _post(self, body: dict[str, Any]) -> None:
        path = "/v1/evaluations" if "panel" in body else "/v1/assessments"
        self._client.send(Call("POST", path, _stored, body, headers=RESPOND_ASYNC, replayable=True))

    # -- the proxy's pre-call hook --------------------------------------------------------

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        """Refuse (403) or reroute a call to a model in quarantine; otherwise leave it.
        Runs in the LiteLLM proxy before every call; fails open on any error of its own."""
        try:
            refusal = await self._guard(data, call_type)
        except Exception as exc:  # a bug here must not fail the proxy's request
            model = data.get("model") if isinstance(data, dict) else None
            self._failed_open(model, f"{type(exc).__name__}: {exc}"[:200], kind_of(exc))
            return data
        if refusal is not None:
            raise _refusal(refusal)
        return data

    async def _guard(self, data: Any, call_type: Any) -> str | None:
        """None to let the call go (`data["model"]` rewritten when rerouted), else why it
        is refused."""
        mode = self.settings.on_quarantine
        if mode == "allow" or not isinstance(call_type, str) or not isinstance(data, dict):
            return None
        model = data.get("model")
        if call_type not in PROXY_CHAT_CALLS or not isinstance(model, str):
            return None
        if not 0 < len(model) <= MAX_MODEL:  # no zone is kept for such a name
            return None
        zone, error, _ = await self._zones.get(model, lambda: self._governance.zone(model))
        if zone is None:
            self._failed_open(model, str(error), error.kind if error else "unknown")
            return None
        if zone != QUARANTINE:
            return None
        reason = "the model is in quarantine"
        if mode == "reroute":
            target, why = await self._recommended(data)
            if target is not None and target != model:
                self._count("rerouted")
                log.info("quorum callback: %r is in quarantine: rerouted to %r", model, target)
                data["model"] = target
                return None
            reason += f" and there is no model to reroute to ({why})"
        self._count("refused")
        log.info("quorum callback: refused a call to %r: %s", model, reason)
        return f"Quorum: model {model!r} may not be called: {reason}."

    def _failed_open(self, model: object, error: str, kind: str) -> None:
        failed_open = self._count("failed_open")
        if self._throttle(f"lookup {kind}"):
            log.warning(
                "quorum callback: zone of %s unknown (%s): call allowed (fail open, %d so far)",
                repr(model)[:100],
                error,
                failed_open,
            )

    async def _recommended(self, data: dict[str, Any]) -> tuple[str | None, str]:
        use_case = use_case_of(metadata_of({"metadata": data.get("metadata")}), None)
        use_case = use_case or self.settings.use_case
        profile = self.settings.profile
        found, error, _ = await self._recommendations.get(
            f"{use_case}\n{profile}", lambda: self._governance.recommendation(use_case, profile)
        )
        if found is None:
            return None, f"recommendation unavailable: {error}"
        return found.model, found.reason or "none qualifies"

    # -- introspection --------------------------------------------------------------------

    def stats(self) -> CallbackStats:
        with self._lock:
            mine = dict(self._counts)
        return CallbackStats(**mine, **asdict(self._sender.counts), queued=self._sender.queued)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued completion has been sent (or failed)."""
        return self._sender.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued (up to `timeout` s), then stop the background thread."""
        self._sender.close(timeout)
        self._client.close()


def _stored(answer: httpx.Response) -> None:
    """Check that Quorum stored it: its answer is the stored item (an object with an id),
    not a page from something in between (an `UnexpectedResponseError`, counted failed)."""
    item = answer.json()
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise ValueError("not a stored evaluation or assessment")


def _refusal(message: str) -> Exception:
    """The error the proxy answers with 403 (an OpenAI `permission_denied` error)."""
    from litellm.proxy._types import ProxyException

    return ProxyException(message=message, type="permission_denied", param="model", code=403)
