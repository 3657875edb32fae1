"""QuorumCallback (quorum_client.litellm) against real HTTP on loopback: a recording
stand-in for Quorum (what was POSTed, zones and a recommendation it serves, a stall on
demand) and real litellm calls to the judge double. The proxy end to end, with a real
Quorum, is tests/client/test_litellm_proxy.py."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import litellm
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from quorum_client.litellm import CallbackSettings, QuorumCallback
from quorum_client.litellm._extract import completion_of
from quorum_client.litellm._sender import Sender
from tests.doubles.judge_server import JudgeDouble
from tests.support import Server, ServerThread, free_port, write_config


@dataclass
class Stand:
    """What the stand-in Quorum saw and serves."""

    posted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    zones: dict[str, str] = field(default_factory=dict)
    recommended: str | None = None
    stall: threading.Event = field(default_factory=threading.Event)  # set: answer POSTs late
    status: int = 202

    def app(self) -> Starlette:
        async def post(request: Request) -> JSONResponse:
            while self.stall.is_set():
                await asyncio.sleep(0.05)
            self.posted.append((request.url.path, await request.json()))
            return JSONResponse({"id": "x", "status": "pending"}, status_code=self.status)

        async def model(request: Request) -> JSONResponse:
            while self.stall.is_set():
                await asyncio.sleep(0.05)
            name = request.path_params["model"]
            self.lookups.append(name)
            if name not in self.zones:
                return JSONResponse(
                    {"title": "not found"}, status_code=404, media_type="application/problem+json"
                )
            return JSONResponse({"model": name, "zone": self.zones[name]})

        async def recommendation(request: Request) -> JSONResponse:
            self.lookups.append(f"recommendation?{request.url.query}")
            return JSONResponse({"model": self.recommended, "reason": "no model in production"})

        return Starlette(
            routes=[
                Route("/v1/evaluations", post, methods=["POST"]),
                Route("/v1/assessments", post, methods=["POST"]),
                Route("/v1/models/{model:path}", model),
                Route("/v1/routing/recommendation", recommendation),
            ]
        )


@pytest.fixture
def stand() -> Iterator[tuple[Stand, str]]:
    seen = Stand()
    with ServerThread(seen.app()) as server:
        yield seen, server.url
        seen.stall.clear()


def kwargs_of(call_id: str, **extra: Any) -> dict[str, Any]:
    """litellm's success-event kwargs as the proxy passes them (the parts read)."""
    return {
        "call_type": "acompletion",
        "model": "honest",
        "litellm_call_id": call_id,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]},
        ],
        "litellm_params": {
            "metadata": {
                "model_group": "support-a",
                "requester_metadata": {"quorum": {"use_case": "support-bot"}},
            }
        },
        **extra,
    }


RESPONSE = {"choices": [{"message": {"role": "assistant", "content": "Paris. [[q=5]]"}}]}


def wait_until(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


@contextlib.contextmanager
def registered(callback: QuorumCallback) -> Iterator[None]:
    """`litellm.callbacks = [callback]` for the block. litellm copies a CustomLogger from
    there into its success lists on first use, so it is taken out of those too."""
    litellm.callbacks = [callback]
    try:
        yield
    finally:
        for name in CALLBACK_LISTS:
            found = getattr(litellm, name, None)
            if isinstance(found, list):
                found[:] = [c for c in found if not isinstance(c, QuorumCallback)]


CALLBACK_LISTS = (
    "callbacks",
    "success_callback",
    "_async_success_callback",
    "failure_callback",
    "_async_failure_callback",
    "input_callback",
)


# -- settings and what is read from a call -------------------------------------------


def test_settings_need_exactly_one_of_panel_and_profile() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        CallbackSettings()
    with pytest.raises(ValidationError, match="exactly one"):
        CallbackSettings(panel="p", profile="q")
    with pytest.raises(ValidationError):
        CallbackSettings(panel="p", sample=1.5)
    with pytest.raises(ValidationError):
        CallbackSettings(panel="p", on_quarantine="ignore")
    with pytest.raises(ValidationError, match="'reroute' needs 'profile'"):
        CallbackSettings(panel="p", on_quarantine="reroute")


def test_settings_from_the_environment() -> None:
    env = {
        "QUORUM_URL": "http://q:1",
        "QUORUM_CALLBACK_PROFILE": "security",
        "QUORUM_CALLBACK_SAMPLE": "0.25",
        "QUORUM_CALLBACK_ON_QUARANTINE": "reroute",
        "QUORUM_CALLBACK_QUEUE_SIZE": "7",
    }
    s = CallbackSettings.from_env(env, use_case="hr-faq")
    assert (s.url, s.profile, s.sample) == ("http://q:1", "security", 0.25)
    assert s.on_quarantine == "reroute"
    assert (s.queue_size, s.use_case, s.panel) == (7, "hr-faq", None)


def test_a_call_is_read_as_the_proxy_reports_it() -> None:
    c = completion_of(kwargs_of("c1"), RESPONSE, default_use_case="other")
    assert c is not None
    assert c.model == "support-a"  # the model group the application asked for
    assert c.use_case == "support-bot"
    assert c.turns == (
        ("system", "Be brief."),
        ("user", "Capital of France?"),
        ("assistant", "Paris. [[q=5]]"),
    )
    plain = {**kwargs_of("c2"), "litellm_params": {"metadata": {"use_case": "bad label!"}}}
    c2 = completion_of(plain, RESPONSE, default_use_case="other")
    assert c2 is not None and (c2.model, c2.use_case) == ("honest", "other")
    assert completion_of({**kwargs_of("c3"), "call_type": "embedding"}, RESPONSE, None) is None
    empty = {"choices": [{"message": {"role": "assistant", "content": None}}]}
    assert completion_of(kwargs_of("c4"), empty, None) is None


# -- the sender ----------------------------------------------------------------------


def test_a_full_queue_drops_and_counts_without_blocking(
    stand: tuple[Stand, str], caplog: pytest.LogCaptureFixture
) -> None:
    seen, url = stand
    seen.stall.set()  # Quorum takes its time: the worker is stuck on the first POST
    callback = QuorumCallback(url=url, panel="helpfulness", queue_size=3, timeout_s=30)
    callback.log_success_event(kwargs_of("c0"), RESPONSE, None, None)
    wait_until(lambda: callback.stats().queued == 0)  # taken by the worker, stuck in flight
    began = time.monotonic()
    for i in range(1, 50):
        callback.log_success_event(kwargs_of(f"c{i}"), RESPONSE, None, None)
    offered_in = time.monotonic() - began
    wait_until(lambda: callback.stats().queued == 3)
    stats = callback.stats()
    assert stats.seen == 50
    # One in flight at the stalled Quorum, three waiting, the rest dropped and counted.
    assert (stats.enqueued, stats.dropped, stats.sent) == (4, 46, 0)
    assert offered_in < 0.5, offered_in  # 49 offers, none waited for Quorum
    seen.stall.clear()
    with caplog.at_level("WARNING", logger="quorum_client.litellm"):
        assert callback.flush(10)
    assert callback.stats().sent == 4
    assert any("(46 dropped in all)" in r.getMessage() for r in caplog.records)
    assert len(seen.posted) == 4
    callback.close()


def test_what_is_sent(stand: tuple[Stand, str]) -> None:
    seen, url = stand
    callback = QuorumCallback(url=url, panel="helpfulness", app="shop", use_case="fallback")
    callback.log_success_event(kwargs_of("one"), RESPONSE, None, None)
    callback.log_success_event(kwargs_of("one"), RESPONSE, None, None)  # the same call again
    assert callback.flush(10)
    [(path, body)] = seen.posted
    assert path == "/v1/evaluations"
    assert body["panel"] == "helpfulness"
    assert body["subject"] == {"model": "support-a"}
    assert body["use_case"] == "support-bot"
    assert body["metadata"] == {"source": "litellm", "app": "shop"}
    assert body["idempotency_key"] == "litellm:one"
    assert body["input"]["messages"][-1] == {"role": "assistant", "content": "Paris. [[q=5]]"}
    assert callback.stats().seen == 1
    callback.close()


def test_a_profile_sends_assessments_and_refusals_are_counted(stand: tuple[Stand, str]) -> None:
    seen, url = stand
    seen.status = 422
    callback = QuorumCallback(url=url, profile="security")
    callback.log_success_event(kwargs_of("a1"), RESPONSE, None, None)
    assert callback.flush(10)
    assert [p for p, _ in seen.posted] == ["/v1/assessments"]
    assert seen.posted[0][1]["profile"] == "security"
    stats = callback.stats()
    assert (stats.sent, stats.failed) == (0, 1)
    callback.close()


def test_sampling_sends_the_configured_share(stand: tuple[Stand, str]) -> None:
    seen, url = stand
    callback = QuorumCallback(url=url, panel="helpfulness", sample=0.2, seed=7)
    for i in range(1000):
        callback.log_success_event(kwargs_of(f"s{i}"), RESPONSE, None, None)
    assert callback.flush(30)
    stats = callback.stats()
    # Binomial(1000, 0.2): sd 12.6, so 200 +- 50 is four standard deviations.
    assert 150 <= stats.sent <= 250, stats
    assert stats.sent + stats.sampled_out == 1000
    assert len(seen.posted) == stats.sent
    callback.close()


def test_a_sender_error_never_reaches_the_caller() -> None:
    def boom(item: int) -> None:
        raise RuntimeError("no")

    sender: Sender[int] = Sender(boom, maxsize=2)
    assert sender.offer(1)
    assert sender.flush(5)
    assert (sender.counts.failed, sender.counts.sent) == (1, 0)
    assert sender.close(5)


def test_an_item_offered_while_the_sender_closes_is_sent_not_stranded() -> None:
    # An offering thread is held up (as a busy machine's scheduler may) after it has seen
    # the sender open and before its item is queued, while `close` runs. The item must
    # still be sent (queued ahead of the worker's stop) or be refused and counted as
    # dropped; before the fix it was queued behind the stop and never sent.
    sent: list[str] = []
    sender: Sender[str] = Sender(sent.append, maxsize=10)
    start_worker = sender._ensure_worker

    def held_up() -> None:
        start_worker()
        time.sleep(0.3)

    sender._ensure_worker = held_up  # type: ignore[method-assign]
    offering = threading.Thread(target=sender.offer, args=("late",))
    offering.start()
    time.sleep(0.1)  # the offer is past its check of `closed`
    assert sender.close(5)
    offering.join()
    counts = sender.counts
    assert (counts.enqueued, counts.sent, counts.dropped, sender.queued) == (1, 1, 0, 0)
    assert sent == ["late"]
    assert not sender.offer("after")  # closed: refused, counted
    assert sender.counts.dropped == 1


# -- the pre-call hook -----------------------------------------------------------------


def hook(callback: QuorumCallback, model: str, **metadata: Any) -> dict[str, Any] | None:
    data = {"model": model, "messages": [], "metadata": metadata}
    return asyncio.run(callback.async_pre_call_hook(None, None, data, "acompletion"))


def test_refuse_a_model_in_quarantine(stand: tuple[Stand, str]) -> None:
    from litellm.proxy._types import ProxyException

    seen, url = stand
    seen.zones = {"bad": "quarantine", "good": "production"}
    callback = QuorumCallback(url=url, panel="helpfulness", zone_ttl_s=60)
    assert hook(callback, "good") == {"model": "good", "messages": [], "metadata": {}}
    assert hook(callback, "new")["model"] == "new"  # never seen by Quorum: a candidate
    with pytest.raises(ProxyException, match="quarantine") as refused:
        hook(callback, "bad")
    assert refused.value.code == "403"
    with pytest.raises(ProxyException):
        hook(callback, "bad")
    assert seen.lookups == ["good", "new", "bad"]  # the second 'bad' came from the cache
    assert callback.stats().refused == 2


def test_reroute_to_the_recommended_model(stand: tuple[Stand, str]) -> None:
    from litellm.proxy._types import ProxyException

    seen, url = stand
    seen.zones = {"bad": "quarantine"}
    callback = QuorumCallback(url=url, profile="security", on_quarantine="reroute", zone_ttl_s=0)
    with pytest.raises(ProxyException, match="no model to reroute to"):
        hook(callback, "bad", use_case="support-bot")
    seen.recommended = "good"
    assert hook(callback, "bad", quorum={"use_case": "support-bot"})["model"] == "good"
    assert "recommendation?use_case=support-bot&profile=security" in seen.lookups
    stats = callback.stats()
    assert (stats.refused, stats.rerouted) == (1, 1)


def test_an_unreachable_quorum_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    callback = QuorumCallback(url=dead, panel="helpfulness", lookup_timeout_s=1)
    with caplog.at_level("WARNING", logger="quorum_client.litellm"):
        assert hook(callback, "any")["model"] == "any"
    assert callback.stats().failed_open == 1
    [line] = [r.getMessage() for r in caplog.records]
    assert "zone of 'any' unknown (ConnectError" in line and "call allowed (fail open" in line


def test_a_stalled_quorum_costs_one_timeout_then_the_cache_answers(
    stand: tuple[Stand, str],
) -> None:
    seen, url = stand
    seen.stall.set()
    callback = QuorumCallback(url=url, panel="helpfulness", lookup_timeout_s=0.3)
    began = time.monotonic()
    assert hook(callback, "slow")["model"] == "slow"
    first = time.monotonic() - began
    began = time.monotonic()
    for _ in range(20):
        assert hook(callback, "slow")["model"] == "slow"
    rest = time.monotonic() - began
    assert first >= 0.3 and rest < 0.3, (first, rest)  # the failure is cached (5 s)
    assert callback.stats().failed_open == 21


def test_allow_asks_nothing(stand: tuple[Stand, str]) -> None:
    seen, url = stand
    seen.zones = {"bad": "quarantine"}
    callback = QuorumCallback(url=url, panel="helpfulness", on_quarantine="allow")
    assert hook(callback, "bad")["model"] == "bad"
    assert seen.lookups == []


# -- through litellm itself (the SDK) ----------------------------------------------------


def test_litellm_sdk_calls_are_sent_once_each(
    stand: tuple[Stand, str], double: JudgeDouble
) -> None:
    seen, url = stand
    callback = QuorumCallback(url=url, panel="helpfulness", use_case="sdk-app")
    with registered(callback):
        messages = [{"role": "user", "content": "Say hi [[q=4]]"}]
        common = {"api_base": double.base_url, "api_key": "x", "messages": messages}
        litellm.completion(model="openai/honest", **common)
        wait_until(lambda: callback.stats().seen == 1)

        async def then_async() -> None:  # litellm logs in a task: wait for it in the loop
            await litellm.acompletion(model="openai/honest", metadata={"use_case": "x"}, **common)
            while callback.stats().seen < 2:
                await asyncio.sleep(0.02)

        asyncio.run(asyncio.wait_for(then_async(), 10))
        assert callback.flush(10)
    # litellm's callbacks are process-wide: a judge call made in this worker while the
    # callback is registered (another test's server, still judging) is heard too, and
    # its prompt may quote this test's text. This test's own calls open with its message.
    mine = [b for _, b in seen.posted if b["input"]["messages"][0] == messages[0]]
    assert sorted((b["subject"]["model"], b["use_case"]) for b in mine) == [
        ("honest", "sdk-app"),
        ("honest", "x"),
    ]
    callback.close()


def test_the_subpackage_exports_what_it_names() -> None:
    import quorum_client.litellm as module

    for name in module.__all__:
        if name != "callback":  # built from QUORUM_* variables on first use
            assert getattr(module, name) is not None, name


def test_sdk_completions_are_judged_by_a_real_quorum(tmp_path: Path, double: JudgeDouble) -> None:
    # Quorum in a process of its own: in this one its judges' litellm calls would reach
    # the callback too.
    config = write_config(tmp_path / "quorum.yaml", double)
    with Server(config, tmp_path / "quorum.db", tmp_path / "quorum.log") as quorum:
        quorum.wait_ready()
        callback = QuorumCallback(url=quorum.url, panel="leak-check", use_case="sdk-test")
        with registered(callback):
            for text in ("Your order ships tomorrow. [[q=pass]]", "The card is 4111. [[q=fail]]"):
                litellm.completion(
                    model="openai/echo",
                    api_base=double.base_url,
                    api_key="x",
                    messages=[{"role": "user", "content": f"Order? <response>{text}</response>"}],
                )
            # `seen` counts a completion before its body is built and queued
            wait_until(lambda: callback.stats().enqueued == 2)
            assert callback.flush(10)
        callback.close()
        assert callback.stats().sent == 2
        params = {"subject_model": "echo", "use_case": "sdk-test"}

        def judged() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = httpx.get(
                f"{quorum.url}/v1/evaluations", params=params
            ).json()["data"]
            return found if all(e["status"] != "pending" for e in found) else []

        wait_until(lambda: len(judged()) == 2, timeout=30)
        verdicts = sorted(e["verdict"]["value"] for e in judged())
        assert verdicts == ["fail", "pass"]  # the honest judges read the answers the SDK got
        assert {e["subject"]["model"] for e in judged()} == {"echo"}
