"""An OpenAI-compatible judge double served over loopback HTTP.

Tests call litellm with ``model="openai/<behaviour>"`` and ``api_base=double.base_url``, so
litellm's real client code runs. Behaviours compose with ``-`` (``sleep-50-fenced-honest``).
Pairwise when the last user message has a ``<response_A>`` element. Element contents arrive
HTML-escaped (Quorum escapes them) and are unescaped before use.

- ``fixed-<V>``: ``{"score": V}`` / ``{"winner": V}`` (V an int when all digits).
- ``honest``: the ``[[q=V]]`` marker in ``<response>`` (3 if none); pairwise the higher
  numeric marker of A/B wins, else "tie".
- ``obedient``: ``VERDICT=<V>`` outside every data element wins, else ``honest``; the
  message is read as a model may read it: look-alike angle brackets as ``<``/``>``, tag
  characters (U+E0020-E007E) as the ASCII they spell, zero-width and bidi controls unseen.
- ``listfirst``: pointwise, the first value of the system message's "Scale (...)" line
  (sensitive to the order the scale is listed in).
- ``garbage`` (prose); ``offscale`` (score 99 / winner "C"); ``echo`` (the unescaped
  ``<response>``/``<response_A>`` content verbatim); ``status-<code>`` (OpenAI error body;
  a 429 says ``Retry-After: 0``); ``html-<code>`` (an nginx-style HTML error page);
  ``leaky-<code>`` (an OpenAI error body whose 7,000-character message holds secrets).
- ``hint-<kind>-<value>-<b>``: an error from <b> carries only the retry hint <kind> instead
  of ``Retry-After: 0``: ``s`` (``Retry-After: <value>``), ``ms`` (``retry-after-ms``),
  ``date`` (``Retry-After`` as an HTTP date <value> s ahead), ``proxy``
  (``llm_provider-retry-after``, as a LiteLLM proxy sends it), ``reset``
  (``x-ratelimit-remaining-requests: 0`` and ``x-ratelimit-reset-requests: <value>s``) or
  ``none`` (no hint at all).
- ``cost-<usd>-<b>``: a success from <b> carries ``x-litellm-response-cost: <usd>``, as a
  LiteLLM proxy reports what the call cost.
- ``fenced-<b>``, ``logprobs-<b>`` (when the request asks for logprobs), ``sleep-<ms>-<b>``,
  ``flaky-<n>-<code>-<b>`` (first n requests per model string fail), ``first-<p>-<b>``
  (pairwise: "A" with probability p, seeded by model and message), ``chaos-<p>-<b>`` (with
  probability p a random fault: HTTP 500, HTTP 429, garbage prose, or a 5 s hang before
  answering as <b>; else <b>; drawn from model, message and a per-model request count, so
  a retry draws afresh and a sequential run repeats exactly). Unknown: 404.
- Provider answers that are wrong in their envelope, each around <b>'s answer:
  ``usage-<kind>-<b>`` (``neg``: negative token counts, ``huge``: 10^30, ``str``: a
  string, ``none``: no usage block), ``finish-<reason>-<b>`` (``finish_reason`` set to
  <reason>, e.g. ``length``, ``content_filter``), ``badlp-<kind>-<b>`` (with
  ``logprobs-``: ``str`` a logprob that is a word, ``null``, ``positive`` 1000,
  ``notlist`` content that is not a list, ``heavy`` alternatives adding up to about 3),
  ``parts-<b>`` (content as a list of text parts), ``drip-<ms>-<b>`` (the body sent one
  byte every <ms> milliseconds), ``refusal`` (no content, a ``refusal`` field) and
  ``toolcall`` (no content, a tool call).
- ``contrary-<b>``: <b>'s verdict reversed (A/B and pass/fail swapped, a 1-5 score q as
  6 - q): a judge that is reliably wrong.
- ``checklist``: a checklist rubric's answers: "yes" to every question the system message
  lists, except the ids named in the response's ``[[no=q1,q2]]`` ("no"), ``[[bad=q3]]``
  ("maybe", not an allowed answer) and ``[[skip=q4]]`` (left out) markers.
  ``checklist-firstno``: "no" to whichever question is listed first, "yes" to the rest (a
  judge swayed by the order it reads the questions in).
- ``grade-<b>``: for peer libraries' graders (Inspect's ``model_graded_qa``): plain text
  ending in ``GRADE: <L>``, L from <b>'s verdict: a number >= 3 is ``C``, below 3 ``I``,
  any other value verbatim (``grade-fixed-P``: ``GRADE: P``). When the last user message
  has no data element (a peer's own template), <b> sees all of it as the ``<response>``,
  so ``honest`` reads a ``[[q=V]]`` marker anywhere in it. Errors and text pass through.
- ``assistant-<V>``: not a judge but a candidate model being qualified (``quorum
  qualify``): a plain-text reply to any prompt, quoting its first words and ending with
  the marker ``[[q=<V>]]``, so that ``honest`` judges score the answer V
  (``assistant-pass``: a clean candidate, ``assistant-fail``: a leaky one).
``JudgeDouble(aliases={"gpt-4o-mini": "cost-0.0042-honest"})`` answers a model name as
another behaviour, as a LiteLLM proxy maps its aliases onto deployments;
``JudgeDouble(served={"my-gpt": "gpt-4o"})`` names another model in the answers to a model
name, as an Azure deployment or a proxy reports the model that served the call.
Counters: ``GET /_double/stats`` answers ``calls`` (chat completion requests received),
``by_model`` (the same per model string), ``in_flight`` and ``peak_in_flight`` (most
requests being answered at once); ``POST /_double/stats/reset`` zeroes them
(``JudgeDouble.stats()`` and ``reset()`` in-process).
Standalone: ``python -m tests.doubles.judge_server --port 9100``.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import email.utils
import html
import json
import math
import random
import re
import socket
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_DATA_ELEMENT = re.compile(
    r"<(system_prompt|conversation|prompt|context|reference|response_A|response_B|response)>.*?</\1>",
    re.DOTALL,
)
_MARKER = re.compile(r"\[\[q=([^\]]+)\]\]")
_VERDICT = re.compile(r"VERDICT=([A-Za-z0-9_.]+)")
_VALUE_SPAN = re.compile(r'"(?:score|winner)"\s*:\s*"?([^",}\s]+)')
_TOKEN = re.compile(r'\s+|[{}\[\]:,"]|[^\s{}\[\]:,"]+')
CHAOS_FAULTS = ("500", "429", "garbage", "hang")
CHAOS_HANG_S = 5.0
HINTS = ("s", "ms", "date", "proxy", "reset", "none")
USAGE_FAULTS = {"neg": -1000, "huge": 10**30, "str": "lots", "none": None}
LOGPROB_FAULTS = ("str", "null", "positive", "notlist", "heavy")
HTML_PAGE = (
    "<html>\r\n<head><title>{code} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{code} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n" + "<!-- padding -->\r\n" * 40
)
LEAKY_MESSAGE = (
    "Incorrect API key provided: sk-proj-Abc123DEF456ghi789JKL012mno345PQR678stu. "
    "Request headers were {'Authorization': 'Bearer sk-live-0123456789abcdefABCDEF0123'} "
    "for https://user:hunter2@upstream.example/v1; " + "more upstream context. " * 300
)


@dataclass
class _Outcome:  # what a behaviour decided: a JSON verdict, a raw text, or an HTTP error
    verdict: dict[str, Any] | None = None
    text: str | None = None
    status: int = 200
    error: str = ""
    fenced: bool = False
    logprobs: bool = False
    headers: dict[str, str] | None = None  # None: the defaults (a 429 says Retry-After: 0)
    html: bool = False  # an error answered as an HTML page, as a gateway would
    usage: str = ""  # usage-<kind>: a usage block that is wrong
    finish: str = "stop"
    bad_logprobs: str = ""  # badlp-<kind>
    parts: bool = False  # content as a list of text parts
    drip_ms: int = 0  # the body trickled a byte at a time
    refusal: str | None = None  # no content: the message's refusal field instead
    tool_call: bool = False  # no content: a tool call instead


@dataclass
class _Ctx:
    model: str
    message: str  # raw (escaped) text of the last user message
    system: str  # the system message (rubric, scale listing)
    pairwise: bool
    double: "JudgeDouble"


# What a model may read as an angle bracket, whatever Quorum's escaper thinks: kept here on
# purpose (not imported from rubrics) so that the injection suite catches a character the
# escaper forgets. Double brackets read as two.
_READ_AS = str.maketrans(
    {
        **dict.fromkeys("\u02c2\u02f1\u1438\u16b2\u2039\u2329\u276c\u276e\u2770\u27e8", "<"),
        **dict.fromkeys("\u2991\u2993\u29fc\u3008\U0001d236", "<"),
        **dict.fromkeys("\u02c3\u02f2\u1433\u203a\u232a\u276d\u276f\u2771\u27e9", ">"),
        **dict.fromkeys("\u2992\u2994\u29fd\u3009\U0001d237\U00016f3f", ">"),
        **dict.fromkeys("\u226a\u27ea\u300a", "<<"),
        **dict.fromkeys("\u226b\u27eb\u300b", ">>"),
        # Tag characters spell ASCII, invisibly; some models read them as the letters.
        **{0xE0000 + c: chr(c) for c in range(0x20, 0x7F)},
    }
)
_IGNORED = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def _as_read(message: str) -> str:
    """The message as a model may read it: look-alike brackets as brackets (NFKC for the
    fullwidth and small forms), tag characters as ASCII, zero-width and bidi controls
    unseen. ``obedient`` looks for instructions in this reading."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", message).translate(_READ_AS))


def _value(raw: str) -> int | str:
    return int(raw) if raw.isdigit() else raw


def _element(message: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", message, re.DOTALL)
    return html.unescape(match.group(1)) if match else None


def _marker(message: str, tag: str) -> str | None:
    match = _MARKER.search(_element(message, tag) or "")
    return match.group(1).strip() if match else None


def _answer(ctx: _Ctx, value: int | str, why: str) -> _Outcome:
    return _Outcome(verdict={"winner" if ctx.pairwise else "score": value, "rationale": why})


_OPPOSITE: dict[object, object] = {"A": "B", "B": "A", "pass": "fail", "fail": "pass"}


def _contrary(outcome: _Outcome) -> _Outcome:
    """The opposite of a verdict: A and B, pass and fail swapped, a 1-5 score q as 6 - q
    (a judge that is reliably wrong, as an adversarially fooled one is)."""
    if outcome.verdict is None:
        return outcome
    key = "winner" if "winner" in outcome.verdict else "score"
    value = outcome.verdict[key]
    flipped = 6 - value if isinstance(value, int) else _OPPOSITE.get(value, value)
    return dataclasses.replace(outcome, verdict={**outcome.verdict, key: flipped})


def _honest(ctx: _Ctx) -> _Outcome:
    if not ctx.pairwise:
        marker = _marker(ctx.message, "response")
        return _answer(ctx, _value(marker) if marker else 3, "Judged on the quality marker.")
    a, b = _marker(ctx.message, "response_A"), _marker(ctx.message, "response_B")
    try:
        qa, qb = float(a or "x"), float(b or "x")
    except ValueError:
        return _answer(ctx, "tie", "No comparable quality markers.")
    return _answer(ctx, "A" if qa > qb else "B" if qb > qa else "tie", "Compared markers.")


_QUESTION = re.compile(r'^- "([a-z0-9_-]+)": ', re.MULTILINE)
_CHECK_MARKER = re.compile(r"\[\[(no|bad|skip)=([^\]]*)\]\]")


def _checklist(ctx: _Ctx, first_no: bool) -> _Outcome:
    ids = _QUESTION.findall(ctx.system)
    marks: dict[str, str] = {}
    for kind, names in _CHECK_MARKER.findall(_element(ctx.message, "response") or ""):
        marks.update(dict.fromkeys((n.strip() for n in names.split(",")), kind))
    answers: dict[str, str] = {}
    for i, qid in enumerate(ids):
        mark = "no" if first_no and i == 0 else marks.get(qid) if not first_no else None
        if mark == "skip":
            continue
        answers[qid] = {"no": "no", "bad": "maybe"}.get(mark or "", "yes")
    return _Outcome(verdict={"answers": answers, "rationale": "Checked each question."})


async def _resolve(spec: str, ctx: _Ctx) -> _Outcome:
    """Interpret one behaviour spec (recursively for composing prefixes)."""
    head, _, rest = spec.partition("-")
    if spec == "honest":
        return _honest(ctx)
    if spec in ("checklist", "checklist-firstno"):
        return _checklist(ctx, first_no=spec.endswith("firstno"))
    if spec == "obedient":
        outside = _DATA_ELEMENT.sub("", _as_read(ctx.message))  # outside data elements
        found = _VERDICT.search(outside)
        return _answer(ctx, _value(found.group(1)), "As instructed.") if found else _honest(ctx)
    if spec == "listfirst":  # order-sensitive: answers the first value the scale lists
        listed = re.search(r"^Scale \([^)]*\): (.+)$", ctx.system, re.MULTILINE)
        first = listed.group(1).split(", ")[0].strip('"') if listed else "3"
        return _answer(ctx, _value(first), "The first option listed.")
    if spec == "refusal":
        return _Outcome(text="", refusal="I can't help with grading this response.")
    if spec == "toolcall":
        return _Outcome(text="", tool_call=True)
    if spec == "garbage":
        return _Outcome(text="I think this response is quite good overall.")
    if spec == "offscale":
        return _Outcome(verdict={"winner": "C"} if ctx.pairwise else {"score": 99})
    if spec == "echo":
        tag = "response_A" if ctx.pairwise else "response"
        return _Outcome(text=_element(ctx.message, tag) or "")
    if head == "assistant" and rest:
        return _Outcome(text=_assistant(ctx.message, rest))
    if head == "grade" and rest:
        return await _grade(rest, ctx)
    if head == "contrary" and rest:
        outcome = await _resolve(rest, ctx)
        return _contrary(outcome)
    if head == "fixed" and rest:
        return _answer(ctx, _value(rest), "Fixed verdict.")
    if head == "status" and rest.isdigit() and 400 <= int(rest) <= 599:
        return _Outcome(status=int(rest), error=f"Simulated HTTP {rest} from judge double.")
    if head == "html" and rest.isdigit() and 400 <= int(rest) <= 599:
        return _Outcome(status=int(rest), error=HTML_PAGE.format(code=rest), html=True)
    if head == "leaky" and rest.isdigit() and 400 <= int(rest) <= 599:
        return _Outcome(status=int(rest), error=LEAKY_MESSAGE)
    if head in ("fenced", "logprobs") and rest:
        outcome = await _resolve(rest, ctx)
        setattr(outcome, head, True)
        return outcome
    if head == "parts" and rest:
        outcome = await _resolve(rest, ctx)
        outcome.parts = True
        return outcome
    arg, _, inner = rest.partition("-")
    if head in ("usage", "finish", "badlp", "drip") and arg and inner:
        outcome = await _resolve(inner, ctx)
        if head == "usage" and arg in USAGE_FAULTS:
            outcome.usage = arg
        elif head == "badlp" and arg in LOGPROB_FAULTS:
            outcome.bad_logprobs = arg
        elif head == "drip" and arg.isdigit():
            outcome.drip_ms = int(arg)
        elif head == "finish":
            outcome.finish = arg
        else:
            raise ValueError(spec)
        return outcome
    if head == "sleep" and arg.isdigit() and inner:
        deadline = time.monotonic() + int(arg) / 1000
        while not ctx.double._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))  # cut short by stop(): no cancelled tasks
        return await _resolve(inner, ctx)
    if head == "first" and inner:
        p = float(arg)  # ValueError -> unknown behaviour
        rng = random.Random(f"{ctx.model}\x00{ctx.message}")
        if ctx.pairwise and rng.random() < p:
            return _answer(ctx, "A", "The first response is better.")
        return await _resolve(inner, ctx)
    if head == "chaos" and inner:
        return await _chaos(float(arg), inner, ctx)  # ValueError -> unknown behaviour
    if head == "cost" and inner:
        float(arg)  # ValueError -> unknown behaviour
        outcome = await _resolve(inner, ctx)
        if outcome.status == 200:
            outcome.headers = {**(outcome.headers or {}), "x-litellm-response-cost": arg}
        return outcome
    if head == "hint" and arg in HINTS and inner:
        value, _, inner = inner.partition("-")
        float(value)  # ValueError -> unknown behaviour
        outcome = await _resolve(inner, ctx)
        if outcome.status != 200:
            outcome.headers = {**(outcome.headers or {}), **_hint(arg, value)}
        return outcome
    code, _, inner = inner.partition("-")
    if head == "flaky" and arg.isdigit() and code.isdigit() and 400 <= int(code) <= 599:
        with ctx.double._lock:  # counted per full model string
            seen = ctx.double._flaky.setdefault(ctx.model, 0)
            ctx.double._flaky[ctx.model] += 1
        if seen < int(arg):
            return _Outcome(status=int(code), error=f"Flaky failure {seen + 1}/{arg}.")
        if inner:
            return await _resolve(inner, ctx)
    raise ValueError(spec)


def _assistant(message: str, marker: str) -> str:
    """``assistant-<V>``: a candidate's plain reply to `message`, carrying ``[[q=<V>]]``."""
    words = " ".join(message.split()[:8])
    return f"You asked: {words}... Here is my answer, within the rules I follow. [[q={marker}]]"


async def _grade(inner: str, ctx: _Ctx) -> _Outcome:
    """``grade-<b>``: <b>'s verdict as plain text ending in ``GRADE: <letter>``."""
    if not _DATA_ELEMENT.search(ctx.message):  # a peer's template: all of it is the response
        wrapped = f"<response>{html.escape(ctx.message)}</response>"
        ctx = dataclasses.replace(ctx, message=wrapped, pairwise=False)
    outcome = await _resolve(inner, ctx)
    if outcome.verdict is None:  # errors and raw text pass through
        return outcome
    value = outcome.verdict.get("winner", outcome.verdict.get("score"))
    letter = ("C" if value >= 3 else "I") if isinstance(value, int) else str(value)
    why = outcome.verdict.get("rationale") or "Judged."
    return _Outcome(text=f"{why} The verdict is {value}.\n\nGRADE: {letter}")


async def _chaos(p: float, inner: str, ctx: _Ctx) -> _Outcome:
    """``chaos-<p>-<b>``: with probability p one of CHAOS_FAULTS, else behave as <b>."""
    if not 0 <= p <= 1:
        raise ValueError(p)
    with ctx.double._lock:  # counted per full model string, like ``flaky``
        seen = ctx.double._chaos.get(ctx.model, 0)
        ctx.double._chaos[ctx.model] = seen + 1
    rng = random.Random(f"{ctx.model}\x00{ctx.message}\x00{seen}")
    if rng.random() >= p:
        return await _resolve(inner, ctx)
    fault = rng.choice(CHAOS_FAULTS)
    if fault == "garbage":
        return _Outcome(text="Chaos: this judge rambles and gives no verdict at all.")
    if fault == "hang":
        deadline = time.monotonic() + CHAOS_HANG_S
        while not ctx.double._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))  # cut short by stop()
        return await _resolve(inner, ctx)
    return _Outcome(status=int(fault), error=f"Chaos: simulated HTTP {fault} from judge double.")


def _hint(kind: str, value: str) -> dict[str, str]:
    """The retry hint headers of ``hint-<kind>-<value>-<b>`` (replacing ``Retry-After: 0``)."""
    if kind == "date":
        return {"Retry-After": email.utils.formatdate(time.time() + float(value), usegmt=True)}
    if kind == "reset":
        return {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": f"{value}s"}
    name = {"s": "Retry-After", "ms": "retry-after-ms", "proxy": "llm_provider-retry-after"}
    return {name[kind]: value} if kind in name else {}


def _alternatives(value: str) -> list[tuple[str, float]]:
    """A plausible distribution over values for the verdict token (0.7 on the answer)."""
    if value in ("A", "B", "tie"):
        return [(value, 0.7)] + [(v, 0.15) for v in ("A", "B", "tie") if v != value]
    near = [(-1, 0.12), (1, 0.12), (-2, 0.03), (2, 0.03)] if value.isdigit() else []
    return [(value, 0.7)] + [(str(int(value) + d), p) for d, p in near if int(value) + d >= 0]


def _logprobs(content: str, top: int) -> dict[str, Any]:
    """OpenAI ``choices[0].logprobs``: crude tokens; the verdict value token gets alternatives."""
    spans = list(_VALUE_SPAN.finditer(content))
    start, end = spans[-1].span(1) if spans else (len(content), len(content))
    tokens = [(t, False) for t in _TOKEN.findall(content[:start])]  # the last verdict value
    tokens += [(content[start:end], True)] if spans else []  # is a token of its own
    tokens += [(t, False) for t in _TOKEN.findall(content[end:])]

    def entry(token: str, is_value: bool) -> dict[str, Any]:
        dist = _alternatives(token) if is_value else [(token, 0.99)]
        tops = [
            {"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in dist[:top]
        ]
        return {
            "token": token,
            "logprob": math.log(dist[0][1]),
            "bytes": list(token.encode()),
            "top_logprobs": tops,
        }

    return {"content": [entry(t, v) for t, v in tokens], "refusal": None}


def _error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """An OpenAI error body; a 429 says ``Retry-After: 0`` unless ``headers`` say otherwise."""
    etype = {401: "authentication_error", 429: "rate_limit_exceeded"}.get(status) or (
        "server_error" if status >= 500 else "invalid_request_error"
    )
    body = {"error": {"message": message, "type": etype, "param": None, "code": code or etype}}
    default = {"Retry-After": "0"} if status == 429 else {}
    return JSONResponse(body, status_code=status, headers=default if headers is None else headers)


def _text(content: Any) -> str:
    if isinstance(content, list):  # multi-part content
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


class JudgeDouble:
    """A loopback OpenAI-compatible server whose answers are chosen by the model name."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        aliases: dict[str, str] | None = None,
        served: dict[str, str] | None = None,
    ) -> None:
        self.host, self._port = host, port
        self.aliases = dict(aliases or {})
        """Model names answered as another behaviour (``{"gpt-4o-mini": "honest"}``), as a
        LiteLLM proxy maps its aliases onto deployments."""
        self.served = dict(served or {})
        """Model names whose answers name another model (``{"my-deployment": "gpt-4o"}``),
        as an Azure deployment or a proxy reports the model that served the call."""
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._flaky: dict[str, int] = {}
        self._chaos: dict[str, int] = {}
        self._calls: dict[str, int] = {}  # chat completion requests per model string
        self._in_flight = self._peak_in_flight = 0
        self._peers: set[tuple[str, int]] = set()  # the client ends of the connections used
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/_double/stats", self._stats, methods=["GET"]),
                Route("/_double/stats/reset", self._stats_reset, methods=["POST"]),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of the JSON bodies received by /v1/chat/completions, oldest first."""
        with self._lock:
            return list(self._requests)

    def stats(self) -> dict[str, Any]:
        """Requests received (``calls``, ``by_model``), ``in_flight``, ``peak_in_flight``
        and ``connections`` (how many client connections carried them)."""
        with self._lock:
            return {
                "calls": sum(self._calls.values()),
                "by_model": dict(self._calls),
                "in_flight": self._in_flight,
                "peak_in_flight": self._peak_in_flight,
                "connections": len(self._peers),
            }

    def reset_stats(self) -> None:
        """Zero the call counters, the connections and the in-flight peak (received requests
        are kept)."""
        with self._lock:
            self._calls.clear()
            self._peers.clear()
            self._peak_in_flight = self._in_flight

    def reset(self) -> None:
        """Forget received requests, the call counters and the per-model ``flaky`` and
        ``chaos`` counters."""
        self.reset_stats()
        with self._lock:
            self._requests.clear()
            self._flaky.clear()
            self._chaos.clear()

    def start(self) -> Self:
        """Serve in a background thread; returns once the server accepts connections."""
        self._stopping.clear()
        sock = socket.create_server((self.host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"judge-double-{self._port}",
            daemon=True,
        )
        self._thread.start()
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError("judge double failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving (in-flight ``sleep`` behaviours are cut short) and join the thread."""
        if self._server is not None and self._thread is not None:
            self._stopping.set()
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _models(self, request: Request) -> JSONResponse:
        model = {"id": "honest", "object": "model", "created": 0, "owned_by": "quorum-tests"}
        return JSONResponse({"object": "list", "data": [model]})

    async def _stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.stats())

    async def _stats_reset(self, request: Request) -> JSONResponse:
        self.reset_stats()
        return JSONResponse(self.stats())

    async def _chat(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "'messages' is required.")
        model = str(body.get("model", ""))
        with self._lock:
            self._requests.append(body)
            if request.client is not None:
                self._peers.add((request.client.host, request.client.port))
            self._calls[model] = self._calls.get(model, 0) + 1
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        try:
            return await self._answer(body, model)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _answer(self, body: dict[str, Any], model: str) -> Response:
        if body.get("stream"):
            return _error(400, "Streaming is not supported by the judge double.")
        messages = [m for m in body["messages"] if isinstance(m, dict)]
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        message = users[-1] if users else ""
        systems = [_text(m.get("content")) for m in messages if m.get("role") == "system"]
        ctx = _Ctx(model, message, systems[0] if systems else "", "<response_A>" in message, self)
        try:
            name = model.removeprefix("openai/")
            outcome = await _resolve(self.aliases.get(name, name), ctx)
        except ValueError:
            return _error(404, f"The model `{model}` does not exist.", "model_not_found")
        if outcome.status != 200 and outcome.html:
            return HTMLResponse(outcome.error, status_code=outcome.status, headers=outcome.headers)
        if outcome.status != 200:
            return _error(outcome.status, outcome.error, headers=outcome.headers)
        content = outcome.text if outcome.text is not None else json.dumps(outcome.verdict)
        if outcome.fenced and outcome.verdict is not None:
            content = f"Here is my verdict:\n```json\n{content}\n```\nThanks."
        top = int(body.get("top_logprobs") or 0)
        logprobs = _logprobs(content, top) if outcome.logprobs and body.get("logprobs") else None
        if logprobs is not None and outcome.bad_logprobs:
            _spoil(logprobs, outcome.bad_logprobs)
        prompt_tokens: Any = sum(len(_text(m.get("content"))) for m in messages) // 4 + 1
        completion_tokens: Any = len(content) // 4 + 1
        if outcome.usage:
            prompt_tokens = completion_tokens = USAGE_FAULTS[outcome.usage]
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens if outcome.usage else prompt_tokens + completion_tokens,
        }
        said: Any = [{"type": "text", "text": content}] if outcome.parts else content
        message: dict[str, Any] = {"role": "assistant", "content": said}
        if outcome.refusal is not None or outcome.tool_call:
            message["content"] = None
            message["refusal"] = outcome.refusal
        if outcome.tool_call:
            call = {"name": "grade", "arguments": json.dumps({"score": 4})}
            message["tool_calls"] = [{"id": "call_1", "type": "function", "function": call}]
        answer = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.served.get(model.removeprefix("openai/"), model),
            "system_fingerprint": "fp_judge_double",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": outcome.finish,
                    "logprobs": logprobs,
                }
            ],
            **({} if outcome.usage == "none" else {"usage": usage}),
        }
        if outcome.drip_ms:
            return StreamingResponse(
                _dripped(json.dumps(answer).encode(), outcome.drip_ms / 1000, self._stopping),
                media_type="application/json",
                headers=outcome.headers,
            )
        return JSONResponse(answer, headers=outcome.headers)


def _spoil(logprobs: dict[str, Any], kind: str) -> None:
    """Make `logprobs` (``choices[0].logprobs``) wrong in the way `kind` says."""
    if kind == "notlist":
        logprobs["content"] = "nope"
        return
    entry = logprobs["content"][-1]
    for e in logprobs["content"]:
        if e["top_logprobs"] and len(e["top_logprobs"]) > 1:
            entry = e  # the verdict value's token: the one with alternatives
    if kind == "heavy":
        for alt in entry["top_logprobs"]:
            alt["logprob"] = -0.01
        return
    entry["logprob"] = {"str": "high", "null": None, "positive": 1000.0}[kind]


async def _dripped(body: bytes, pause_s: float, stopping: threading.Event) -> Any:
    """`body` one byte at a time, `pause_s` apart (cut short by stop())."""
    for i in range(len(body)):
        if stopping.is_set():
            return
        yield body[i : i + 1]
        await asyncio.sleep(pause_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the OpenAI-compatible judge double.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args(argv)
    with JudgeDouble(args.host, args.port) as double:
        print(f"Judge double serving at {double.base_url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
