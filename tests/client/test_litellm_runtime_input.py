"""The callback at run time against bad input, over real HTTP on loopback: completions it
cannot read, metadata of the wrong types and sizes, a Quorum (or something in its place)
answering errors, pages, huge or trickled answers. The application's call never raises,
never waits on Quorum, and each kind of failure is one log line, not one per call.

The happy paths and the queue are tests/client/test_litellm_callback.py; the real proxy is
tests/client/test_litellm_proxy.py."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import litellm
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from quorum_client.litellm import QuorumCallback
from quorum_client.litellm._zones import TTLCache
from tests.client.test_litellm_callback import RESPONSE, kwargs_of, registered, wait_until
from tests.support import ServerThread, free_port

LOGGER = "quorum_client.litellm"
Scripted = tuple[int, dict[str, str], bytes]


@dataclass
class Stand:
    """A stand-in for Quorum: POSTs get `answers` in turn (then 202 and a stored item),
    a zone lookup gets `zone()`; what came is kept."""

    posted: list[dict[str, Any]] = field(default_factory=list)
    answers: list[Scripted] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    zone: Any = None  # () -> Response

    def app(self) -> Starlette:
        async def post(request: Request) -> Response:
            self.posted.append(await request.json())
            if self.answers:
                status, headers, body = self.answers.pop(0)
                return Response(body, status_code=status, headers=headers)
            return JSONResponse({"id": f"e{len(self.posted)}", "status": "pending"}, 202)

        async def model(request: Request) -> Response:
            self.lookups.append(request.path_params["model"])
            if self.zone is None:
                return JSONResponse(
                    {"title": "Not found", "status": 404},
                    404,
                    media_type="application/problem+json",
                )
            answer: Response = self.zone()
            return answer

        return Starlette(
            routes=[
                Route("/v1/evaluations", post, methods=["POST"]),
                Route("/v1/models/{model:path}", model),
            ]
        )


@pytest.fixture
def stand() -> Iterator[tuple[Stand, str]]:
    seen = Stand()
    with ServerThread(seen.app()) as server:
        yield seen, server.url


def problem(status: int, **headers: str) -> Scripted:
    body = json.dumps({"title": "No", "status": status, "detail": "refused"}).encode()
    return status, {"content-type": "application/problem+json", **headers}, body


def hook(callback: QuorumCallback, data: Any, call_type: Any = "acompletion") -> Any:
    return asyncio.run(callback.async_pre_call_hook(None, None, data, call_type))


def warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


# -- completions it cannot read ------------------------------------------------------------


def chat(content: Any = "Paris.", **choice: Any) -> dict[str, Any]:
    return {"choices": [{"message": {"role": "assistant", "content": content}, **choice}]}


UNREADABLE: list[tuple[str, dict[str, Any], Any]] = [
    ("no choices", {}, {"choices": []}),
    ("choices not a list", {}, {"choices": {"0": chat()["choices"][0]}}),
    ("choice not an object", {}, {"choices": ["Paris."]}),
    ("no response", {}, None),
    ("content None", {}, chat(None)),
    ("content a number", {}, chat(5)),
    ("tool calls only", {}, chat(None, tool_calls=[{"id": "t", "type": "function"}])),
    ("empty answer", {}, chat("")),
    ("an embedding", {"call_type": "aembedding"}, {"data": [{"embedding": [0.1]}]}),
    ("call type not a string", {"call_type": ["acompletion"]}, RESPONSE),
    ("messages not a list", {"messages": "Capital of France?"}, RESPONSE),
    ("an answer over Quorum's limit", {}, chat("x" * 10_000_000)),
]


@pytest.mark.parametrize(("what", "extra", "response"), UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_a_completion_it_cannot_read_is_skipped(
    stand: tuple[Stand, str], what: str, extra: dict[str, Any], response: Any
) -> None:
    seen, url = stand
    callback = QuorumCallback(url=url, panel="helpfulness")
    callback.log_success_event(kwargs_of("c1", **extra), response, None, None)
    asyncio.run(callback.async_log_success_event(kwargs_of("c2", **extra), response, None, None))
    assert callback.flush(5)
    stats = callback.stats()
    assert (stats.seen, stats.skipped, stats.enqueued, stats.failed) == (2, 2, 0, 0), what
    assert seen.posted == []
    callback.close()


def test_metadata_of_the_wrong_type_or_size_is_ignored_not_the_completion(
    stand: tuple[Stand, str], caplog: pytest.LogCaptureFixture
) -> None:
    seen, url = stand
    callback = QuorumCallback(url=url, panel="helpfulness", use_case="fallback")
    huge = "v" * 10_000_000
    for call_id, params in {
        "quorum-a-string": {"metadata": {"quorum": "x"}},
        "use-case-a-number": {"metadata": {"use_case": 5}},
        "use-case-10mb": {"metadata": {"quorum": {"use_case": huge}}},
        "version-10mb": {"metadata": {"quorum": {"version": huge}}},
        "metadata-a-list": {"metadata": ["x"]},
        "params-a-list": ["metadata"],
    }.items():
        with caplog.at_level("WARNING", logger=LOGGER):
            callback.log_success_event(kwargs_of(call_id, litellm_params=params), RESPONSE, 0, 0)
    callback.log_success_event(kwargs_of("c" * 10_000), RESPONSE, None, None)  # no key then
    assert callback.flush(10)
    assert callback.stats().skipped == 0 and warnings(caplog, "") == []
    keys = [b.get("idempotency_key") for b in seen.posted]
    assert keys[:6] == [
        "litellm:quorum-a-string",
        "litellm:use-case-a-number",
        "litellm:use-case-10mb",
        "litellm:version-10mb",
        "litellm:metadata-a-list",
        "litellm:params-a-list",
    ]
    assert keys[6] is None
    assert {b["use_case"] for b in seen.posted[:6]} == {"fallback"}
    assert {json.dumps(b["subject"]) for b in seen.posted[:6]} == {'{"model": "honest"}'}
    callback.close()


def test_a_long_history_costs_the_caller_nothing(stand: tuple[Stand, str]) -> None:
    seen, url = stand
    callback = QuorumCallback(url=url, panel="helpfulness")
    history = [{"role": "user", "content": "more"}] * 1_000_000
    began = time.perf_counter()
    callback.log_success_event(kwargs_of("long", messages=history), RESPONSE, None, None)
    took = time.perf_counter() - began
    assert took < 0.3, took  # the last turns only; reading a million took 0.7-1 s
    assert callback.flush(10)
    [body] = seen.posted
    assert len(body["input"]["messages"]) == 200  # the service's limit, the answer last
    callback.close()


def test_an_error_inside_the_callback_is_logged_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    class Odd:  # a response whose attribute raises: a bug of litellm's, or of ours
        @property
        def choices(self) -> Any:
            raise ValueError("unreadable")

    callback = QuorumCallback(url=f"http://127.0.0.1:{free_port()}", panel="helpfulness")
    for i in range(5):  # skipped as not judgeable, quietly
        callback.log_success_event(kwargs_of(f"e{i}", call_type="embedding"), None, 0, 0)
    with caplog.at_level("WARNING", logger=LOGGER):
        for i in range(20):
            callback.log_success_event(kwargs_of(f"odd{i}"), Odd(), None, None)
    assert callback.stats().skipped == 25
    [line] = warnings(caplog, "completion not sent")
    assert "ValueError: unreadable" in line
    callback.close()


# -- through litellm: a stream, tool calls and an embedding from a real upstream ---------


def upstream() -> Starlette:
    """An OpenAI-compatible upstream that streams, answers with tool calls, and embeds."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {"id": "s1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
        return f"data: {json.dumps({**body, 'choices': [choice]})}\n\n"

    async def completions(request: Request) -> Response:
        body = await request.json()
        if body.get("stream"):

            async def pieces() -> AsyncIterator[str]:
                yield chunk({"role": "assistant", "content": "Par"})
                for piece in ("is", ". [[q=4]]"):
                    yield chunk({"content": piece})
                yield chunk({}, "stop")
                yield "data: [DONE]\n\n"

            return StreamingResponse(pieces(), media_type="text/event-stream")
        call = {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        answer = {"id": "t", "object": "chat.completion", "created": 1, "model": "m"}
        return JSONResponse({**answer, "choices": [choice], "usage": usage})

    async def embeddings(request: Request) -> Response:
        data = [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        return JSONResponse({"object": "list", "data": data, "model": "m", "usage": usage})

    return Starlette(
        routes=[
            Route("/chat/completions", completions, methods=["POST"]),
            Route("/embeddings", embeddings, methods=["POST"]),
        ]
    )


def test_a_stream_is_sent_once_whole_tool_calls_and_embeddings_are_skipped(
    stand: tuple[Stand, str],
) -> None:
    seen, url = stand
    callback = QuorumCallback(url=url, panel="helpfulness", use_case="stream-test")
    messages = [{"role": "user", "content": "Capital of France, streamed?"}]
    with ServerThread(upstream()) as model, registered(callback):
        common: dict[str, Any] = {"model": "openai/m", "api_base": model.url, "api_key": "x"}
        stream = litellm.completion(messages=messages, stream=True, **common)
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "Paris. [[q=4]]"

        async def streamed_async() -> str:
            chunks = await litellm.acompletion(messages=messages, stream=True, **common)
            return "".join([c.choices[0].delta.content or "" async for c in chunks])

        assert asyncio.run(streamed_async()) == "Paris. [[q=4]]"
        wait_until(lambda: callback.stats().enqueued == 2)
        assert litellm.completion(messages=messages, **common).choices[0].message.tool_calls
        assert len(litellm.embedding(input=["a"], **common).data) == 1
        wait_until(lambda: callback.stats().skipped == 2)
        assert callback.flush(10)
    mine = [b for b in seen.posted if b["input"]["messages"][0] == messages[0]]
    assert [b["input"]["messages"][-1]["content"] for b in mine] == ["Paris. [[q=4]]"] * 2
    callback.close()


# -- Quorum answering errors --------------------------------------------------------------


def test_each_kind_of_refusal_is_one_log_line_and_a_page_is_not_sent(
    stand: tuple[Stand, str], caplog: pytest.LogCaptureFixture
) -> None:
    seen, url = stand
    seen.answers = [
        *[problem(401)] * 4,
        problem(422),
        problem(403),
        problem(404),
        *[problem(429, **{"retry-after": "0"})] * 3,  # the first and its two retries
        problem(500),
        (200, {"content-type": "text/html"}, b"<html><title>Sign in</title></html>"),
        (502, {"content-type": "text/html"}, b"<html><h1>502 Bad Gateway</h1></html>"),
    ]
    callback = QuorumCallback(url=url, panel="helpfulness")
    with caplog.at_level("WARNING", logger=LOGGER):
        for i in range(12):
            callback.log_success_event(kwargs_of(f"r{i}"), RESPONSE, None, None)
        assert callback.flush(20)
    stats = callback.stats()
    assert (stats.enqueued, stats.failed, stats.sent) == (12, 11, 1)
    lines = warnings(caplog, "sending to Quorum failed")
    kinds = ["401 No", "422 No", "403 No", "404 No", "429 No", "500 No"]
    kinds += ["200 Not a Quorum answer", "502 Bad Gateway"]
    assert len(lines) == len(kinds), lines
    for line, kind in zip(lines, kinds, strict=True):
        assert kind in line, (kind, line)
    assert "\n" not in "".join(lines)
    callback.close()


# -- the pre-call hook --------------------------------------------------------------------


def test_the_hook_lets_absurd_calls_through_and_never_raises(stand: tuple[Stand, str]) -> None:
    seen, url = stand
    callback = QuorumCallback(url=url, profile="security", on_quarantine="reroute")
    long_name = "m" * 100_000  # no zone is kept for it: not looked up
    for data, call_type in [
        ({"model": long_name, "messages": []}, "acompletion"),
        ({"model": None}, "acompletion"),
        ({"model": 5}, "acompletion"),
        ({"model": "ok", "metadata": "x"}, "acompletion"),
        ({"model": "ok", "metadata": {"quorum": "x", "use_case": 5}}, "acompletion"),
        ({}, "acompletion"),
        ({"model": "ok"}, ["acompletion"]),
        ({"model": "ok"}, None),
        ("not a dict", "acompletion"),
    ]:
        assert hook(callback, data, call_type) == data
    assert seen.lookups == ["ok"]  # asked once, then cached; never the long name
    assert callback.stats().failed_open == 0


def test_a_trickled_or_huge_answer_or_a_page_fails_open_in_time(
    stand: tuple[Stand, str], caplog: pytest.LogCaptureFixture
) -> None:
    seen, url = stand

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(30):  # a byte every 0.05 s: each read is in time, the whole is not
            yield b" "
            await asyncio.sleep(0.05)
        yield b'{"zone": "quarantine"}'

    answers = {
        "trickled": lambda: StreamingResponse(trickle(), media_type="application/json"),
        "huge": lambda: JSONResponse({"zone": "quarantine", "pad": "x" * 2_000_000}),
        "page": lambda: Response("<html>Not here</html>", 404, media_type="text/html"),
        # FastAPI's or LiteLLM's own 404 at a wrong QUORUM_URL: JSON, but no problem document
        "other": lambda: JSONResponse({"detail": "Not Found"}, 404),
    }
    callback = QuorumCallback(url=url, panel="helpfulness", lookup_timeout_s=0.3)
    for name, answer in answers.items():
        seen.zone = answer
        began = time.monotonic()
        with caplog.at_level("WARNING", logger=LOGGER):
            assert hook(callback, {"model": name})["model"] == name
        assert time.monotonic() - began < 1.0, name
    assert callback.stats().failed_open == 4
    lines = warnings(caplog, "call allowed (fail open")
    assert len(lines) == 3, lines  # the two 404s are one kind of failure: logged once
    assert "no answer within 0.3 s" in lines[0]
    assert "an answer over 1048576 bytes" in lines[1]
    assert "HTTP 404 from /v1/models/page" in lines[2]  # not Quorum's 404: not a candidate


def test_a_down_quorum_is_logged_once_per_kind_not_per_call(
    stand: tuple[Stand, str], caplog: pytest.LogCaptureFixture
) -> None:
    seen, url = stand
    seen.zone = lambda: JSONResponse({"title": "boom"}, 500)
    callback = QuorumCallback(url=url, panel="helpfulness", zone_ttl_s=0)  # every call asks
    with caplog.at_level("WARNING", logger=LOGGER):
        for _ in range(10):
            assert hook(callback, {"model": "a"})["model"] == "a"
        seen.zone = lambda: JSONResponse({"title": "who?"}, 401)
        for _ in range(10):
            assert hook(callback, {"model": "b"})["model"] == "b"
    assert len(seen.lookups) == 20
    assert callback.stats().failed_open == 20
    lines = warnings(caplog, "call allowed (fail open")
    assert len(lines) == 2, lines
    assert "HTTP 500" in lines[0] and "(fail open, 1 so far)" in lines[0]
    assert "HTTP 401" in lines[1] and "(fail open, 11 so far)" in lines[1]


def test_the_zone_cache_stays_bounded_under_many_model_names() -> None:
    cache: TTLCache[str] = TTLCache(60, max_entries=10)

    async def candidate() -> str:
        return "candidate"

    async def ask_all() -> None:
        for i in range(100):
            assert (await cache.get(f"model-{i}", candidate))[0] == "candidate"

    asyncio.run(ask_all())
    assert len(cache._entries) <= 10 and len(cache._locks) <= 10
