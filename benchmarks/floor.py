"""The floor: the judge calls of N evaluations (3 judges each, concurrent) issued straight
through `litellm.acompletion` by a minimal asyncio script, with no Quorum code at all.

A worker of bench.py, in its own process: it reads commands such as
``{"behaviour": "sleep-0-honest", "evals": 300, "warmup": 32, "concurrency": 16}`` on
stdin and answers each with one JSON line of measurements (this process's CPU and RSS).
`--variant` selects a litellm option (see VARIANTS) so their per-call cost can be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import claim_stdout, timed_run

VARIANTS = {
    "defaults": "litellm.acompletion with the library's defaults (no flag set)",
    "quorum": "the flags configure_litellm() sets (drop_params, suppress_debug_info, "
    "telemetry off, litellm's own HTTP handler for openai/ calls) and the kwargs LiteLLMClient "
    "sends: the floor of the main table",
    "openai-sdk-path": "quorum, but openai/ calls through the openai SDK "
    "(EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER=false, litellm's default)",
    "quorum+cost": "quorum + litellm.completion_cost() on each response (LiteLLMClient does it)",
    "quorum+info-log": "quorum + the root logger at INFO as `quorum serve` sets it (api/cli.py "
    "basicConfig): litellm's per-call INFO lines are formatted and written (to a file)",
    "logging-off": "quorum + litellm.logging=False, turn_off_message_logging, "
    "disable_token_counter, disable_end_user_cost_tracking, disable_streaming_logging",
    "router": "quorum + litellm.Router (one deployment per judge, num_retries=0)",
    "client": "quorum + client=<one shared openai.AsyncOpenAI> per judge endpoint",
    "aclient-session": "quorum + litellm.aclient_session=<one shared httpx.AsyncClient>",
    "shared-session": "quorum + shared_session=<one aiohttp.ClientSession> as LiteLLMClient "
    "hands it (no pool-diagnostics trace hooks)",
    "httpx-transport": "quorum + litellm.disable_aiohttp_transport=True (httpx, not aiohttp)",
    "timeout-varies": "quorum, but timeout differs on every call (as PanelRunner sends when "
    "deadline_s < timeout_s): litellm's client cache misses",
    "openai-sdk": "reference, not litellm: openai.AsyncOpenAI.chat.completions.create",
    "httpx-raw": "reference, not litellm: one httpx.AsyncClient POST, JSON decoded",
}


def configure(variant: str) -> None:
    import litellm

    if variant == "defaults":
        return
    if variant == "openai-sdk-path":
        os.environ["EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER"] = "false"
    else:  # as configure_litellm() sets it
        os.environ.setdefault("EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER", "true")
    litellm.drop_params = True
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    if variant == "quorum+info-log":
        import logging
        import tempfile

        fd, path = tempfile.mkstemp(prefix="floor-info-log-")
        os.close(fd)
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", filename=path
        )
    elif variant == "logging-off":
        litellm.logging = False
        litellm.turn_off_message_logging = True
        litellm.disable_token_counter = True
        litellm.disable_end_user_cost_tracking = True
        litellm.disable_streaming_logging = True
    elif variant == "httpx-transport":
        litellm.disable_aiohttp_transport = True


class Caller:
    """Sends one judge call the way the variant says."""

    def __init__(self, variant: str, base: str, models: list[str], timeout: float) -> None:
        import httpx
        import litellm
        import openai

        self.variant, self.base, self.timeout = variant, base, timeout
        self.litellm = litellm
        self.calls = 0
        self.openai = openai.AsyncOpenAI(base_url=base, api_key="no-key", max_retries=0)
        self.httpx = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=200, max_keepalive_connections=200)
        )
        if variant == "aclient-session":
            litellm.aclient_session = self.httpx
        self.session = None
        if variant == "shared-session":
            import aiohttp

            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1000, limit_per_host=500),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        self.router = None
        if variant == "router":
            self.router = litellm.Router(
                model_list=[
                    {
                        "model_name": f"judge-{i}",
                        "litellm_params": {"model": m, "api_base": base, "api_key": "no-key"},
                    }
                    for i, m in enumerate(models)
                ],
                num_retries=0,
            )

    async def call(self, judge: int, model: str, messages: list[dict[str, Any]]) -> str:
        self.calls += 1
        fmt = {"type": "json_object"}
        if self.variant == "httpx-raw":
            body = {"model": model.split("/", 1)[1], "messages": messages, "response_format": fmt}
            reply = await self.httpx.post(f"{self.base}/chat/completions", json=body)
            reply.raise_for_status()
            return str(reply.json()["choices"][0]["message"]["content"])
        if self.variant == "openai-sdk":
            done = await self.openai.chat.completions.create(  # type: ignore[call-overload]
                model=model.split("/", 1)[1],
                messages=messages,
                response_format=fmt,
                timeout=self.timeout,
            )
            return str(done.choices[0].message.content)
        kwargs: dict[str, Any] = {
            "messages": messages,
            "timeout": self.timeout,
            "num_retries": 0,
            "response_format": fmt,
        }
        if self.variant == "timeout-varies":
            kwargs["timeout"] = self.timeout - self.calls * 1e-6  # a fresh float per call
        if self.router is not None:
            response = await self.router.acompletion(model=f"judge-{judge}", **kwargs)
        else:
            if self.variant == "client":
                kwargs["client"] = self.openai
            if self.session is not None:
                kwargs["shared_session"] = self.session
            response = await self.litellm.acompletion(
                model=model, api_base=self.base, api_key="no-key", **kwargs
            )
        if self.variant == "quorum+cost":
            with contextlib.suppress(Exception):  # unknown model: LiteLLMClient says "unknown"
                self.litellm.completion_cost(completion_response=response)
        return str(response.choices[0].message.content)


async def measure(
    caller: Caller, messages: list[list[dict[str, Any]]], models: list[str], cmd: dict[str, Any]
) -> dict[str, Any]:
    """Warm up, then judge `evals` evaluations at fixed concurrency; measure this process."""
    errors: list[str] = []

    async def evaluation(i: int) -> float:
        started = time.perf_counter()
        msgs = messages[i % len(messages)]
        replies = await asyncio.gather(
            *(caller.call(j, m, msgs) for j, m in enumerate(models)), return_exceptions=True
        )
        for reply in replies:
            if isinstance(reply, BaseException):
                errors.append(f"{type(reply).__name__}: {reply}"[:200])
            elif '"score"' not in reply:
                errors.append(f"unexpected reply: {reply[:100]}")
        return time.perf_counter() - started

    return {**await timed_run(evaluation, cmd, errors), "calls": cmd["evals"] * len(models)}


async def serve(args: argparse.Namespace) -> None:
    """Answer JSON commands read from stdin, one JSON line each (see bench.py)."""
    configure(args.variant)
    messages: list[list[dict[str, Any]]] = json.loads(Path(args.messages).read_text())
    callers: dict[str, tuple[Caller, list[str]]] = {}
    loop = asyncio.get_running_loop()
    answers = claim_stdout()
    print(json.dumps({"ready": True}), file=answers, flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        cmd = json.loads(line)
        behaviour = cmd["behaviour"]
        if behaviour not in callers:
            models = [f"openai/{behaviour}"] * args.judges
            callers[behaviour] = (Caller(args.variant, args.base_url, models, args.timeout), models)
        caller, models = callers[behaviour]
        result = await measure(caller, messages, models, cmd)
        print(json.dumps({"variant": args.variant, **result}), file=answers, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the judge double's /v1 URL")
    parser.add_argument("--messages", required=True, help="JSON list of chat message lists")
    parser.add_argument("--judges", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="quorum")
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
