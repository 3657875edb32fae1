"""The callback in the real LiteLLM proxy, end to end on loopback.

The proxy (`litellm --config`, from the litellm wheel; its runtime dependencies are the
`proxy` extra) serves two models, both the judge double's `echo` (it answers the
`<response>` it is sent, so the application decides what its "model" wrote), and loads
`quorum_client.litellm.callback`, configured from QUORUM_* variables to a real Quorum
started here. Through the proxy, with the openai wire format over httpx:

1. completions arrive in Quorum as assessments with the subject model (the proxy's model
   name) and the use case (the call's metadata, or the configured default);
2. while Quorum is stalled (SIGSTOP), the application's calls still succeed at once: the
   hook fails open, the queue fills, drops are counted in the proxy's log; on SIGCONT what
   was queued arrives;
3. after an admin moves a model to quarantine, a call to it is refused (403) while no
   model is in production, and rerouted to the recommended one once there is.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.doubles.judge_server import JudgeDouble
from tests.support import Child, Server, free_port, quorum_cli, wait_for, write_config

MASTER = "sk-test-0123456789abcdef0123456789abcdef"
CASE = "support-bot"
GOOD = "Your order ships tomorrow. [[q=pass]]"
QUEUE = 3
TTL_S = 1.0
UPSTREAM = {"support-a": "echo", "support-b": "sleep-1-echo"}
"""Proxy model name -> the double's behaviour behind it (distinct, so the double's
per-model counts tell which one answered)."""


@dataclass
class Stack:
    quorum: Server
    proxy: Child
    proxy_url: str
    admin: httpx.Client

    def chat(self, model: str, text: str = GOOD, **metadata: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "model": model,
            "messages": [
                {"role": "user", "content": f"Where is my order? <response>{text}</response>"}
            ],
        }
        if metadata:
            body["metadata"] = metadata
        return httpx.post(
            f"{self.proxy_url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {MASTER}"},
            timeout=30,
        )

    def evaluations(self, model: str, use_case: str) -> list[dict[str, Any]]:
        params = {"subject_model": model, "use_case": use_case, "limit": 200}
        r = self.admin.get("/v1/evaluations", params=params)
        assert r.status_code == 200, r.text
        data: list[dict[str, Any]] = r.json()["data"]
        return data


def create_key(database: Path, config: Path, name: str, scopes: str) -> str:
    proc = quorum_cli(
        "keys", "create", "--config", config, "--name", name, "--scopes", scopes,
        "--tenant", "acme", database=database,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"\bqk_\S+", proc.stdout)
    assert found, proc.stdout
    return found[0]


def quorum_config(path: Path, double: JudgeDouble) -> Path:
    write_config(path, double)
    config = yaml.safe_load(path.read_text())
    config["profiles"] = [{"name": "leaks", "criteria": [{"panel": "leak-check"}]}]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def proxy_config(path: Path, double: JudgeDouble) -> Path:
    models = [
        {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{behaviour}",
                "api_base": double.base_url,
                "api_key": "not-used",
            },
        }
        for name, behaviour in UPSTREAM.items()
    ]
    config = {
        "model_list": models,
        "litellm_settings": {"callbacks": ["quorum_client.litellm.callback"]},
        "general_settings": {"master_key": MASTER},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("proxy")
    database, config = root / "quorum.db", quorum_config(root / "quorum.yaml", double)
    admin_key = create_key(database, config, "ops", "evaluate,admin")
    app_key = create_key(database, config, "proxy", "evaluate")
    port = free_port()
    env = {
        **os.environ,
        "QUORUM_API_KEY": app_key,
        "QUORUM_CALLBACK_PROFILE": "leaks",
        "QUORUM_CALLBACK_USE_CASE": "default-case",
        "QUORUM_CALLBACK_QUEUE_SIZE": str(QUEUE),
        "QUORUM_CALLBACK_ON_QUARANTINE": "reroute",
        "QUORUM_CALLBACK_ZONE_TTL_S": str(TTL_S),
        "QUORUM_CALLBACK_LOOKUP_TIMEOUT_S": "0.5",
        "QUORUM_CALLBACK_TIMEOUT_S": "20",
        "LITELLM_LOG": "INFO",
    }
    with Server(config, database, root / "quorum.log") as quorum:
        env["QUORUM_URL"] = quorum.url
        cmd = [sys.executable, "-m", "litellm.proxy.proxy_cli", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--config", str(proxy_config(root / "proxy.yaml", double))]
        with Child(cmd, root / "proxy.log", env=env) as proxy:
            quorum.wait_ready()
            proxy_url = f"http://127.0.0.1:{port}"
            proxy.wait_http(f"{proxy_url}/health/liveliness", timeout=120)
            headers = {"Authorization": f"Bearer {admin_key}"}
            with httpx.Client(base_url=quorum.url, headers=headers, timeout=30) as admin:
                yield Stack(quorum, proxy, proxy_url, admin)


def test_completions_arrive_with_subject_and_use_case(stack: Stack) -> None:
    def send(model: str, use_case: str, **metadata: Any) -> None:
        # One at a time, each until it has arrived: the queue holds QUEUE, and a Quorum slow
        # to answer (a loaded machine) would otherwise see some dropped, as designed.
        before = len(stack.evaluations(model, use_case))
        r = stack.chat(model, **metadata)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == GOOD
        wait_for(
            f"{model}'s completion in Quorum",
            lambda: len(stack.evaluations(model, use_case)) == before + 1,
            30,
            every=0.2,
        )

    for model in UPSTREAM:
        for _ in range(3):
            send(model, CASE, quorum={"use_case": CASE})
    send("support-a", "default-case")  # no metadata: the default use case

    def judged(found: list[dict[str, Any]], n: int) -> bool:
        return len(found) == n and all(e["status"] != "pending" for e in found)

    def arrived() -> bool:  # the callback sends in the background, in no fixed order
        default = stack.evaluations("support-a", "default-case")
        return all(judged(stack.evaluations(m, CASE), 3) for m in UPSTREAM) and judged(default, 1)

    wait_for("seven judged assessments", arrived, 30, every=0.5)
    [one] = stack.evaluations("support-a", "default-case")
    assert one["subject"]["model"] == "support-a" and one["use_case"] == "default-case"
    for e in stack.evaluations("support-b", CASE):
        assert e["subject"] == {"model": "support-b", "version": None}
        assert e["panel"] == "leak-check" and e["metadata"]["source"] == "litellm"


def test_a_stalled_quorum_neither_slows_nor_fails_the_application(stack: Stack) -> None:
    before = len(stack.evaluations("support-a", "stall"))
    mark = len(stack.proxy.output())  # lines from before the stall are not this test's
    os.killpg(stack.quorum.proc.pid, signal.SIGSTOP)
    try:
        took: list[float] = []
        calls = 12
        for _ in range(calls):
            began = time.monotonic()
            r = stack.chat("support-a", use_case="stall")
            took.append(time.monotonic() - began)
            assert r.status_code == 200, r.text
        # The sender is stuck on its first POST, QUEUE wait behind it, the rest drop.
        line = stack.proxy.wait_line("dropped so far)", timeout=10, after=mark)
        assert "queue full" in line
        # The zone may still be cached from before the stall: once the TTL has run out, the
        # next call's lookup times out and the hook lets it through.
        deadline = time.monotonic() + 10
        while "call allowed (fail open" not in stack.proxy.output()[mark:]:
            assert time.monotonic() < deadline, stack.proxy.output()[-3000:]
            time.sleep(TTL_S)
            assert stack.chat("support-a", use_case="stall").status_code == 200
            calls += 1
    finally:
        os.killpg(stack.quorum.proc.pid, signal.SIGCONT)
    # The hook pays one lookup timeout (0.5 s) per TTL window at most, nothing else.
    assert sorted(took)[len(took) // 2] < 1.0, took
    # Sending works again: the exact number dropped is summed up in one line.
    line = stack.proxy.wait_line("dropped in all)", timeout=30, after=mark)
    dropped = int(re.findall(r"\((\d+) dropped in all\)", line)[0])
    assert dropped >= calls - QUEUE - 1, stack.proxy.output()[-3000:]
    wait_for(
        "the queued completions after SIGCONT",
        lambda: len(stack.evaluations("support-a", "stall")) - before == calls - dropped,
        30,
        every=0.5,
    )


def test_quarantine_refuses_then_reroutes(stack: Stack, double: JudgeDouble) -> None:
    def move(model: str, zone: str) -> None:
        r = stack.admin.post(f"/v1/models/{model}/transitions", json={"to": zone, "reason": "test"})
        assert r.status_code in (200, 201), r.text
        time.sleep(TTL_S + 0.2)  # the hook's cached zone expires

    move("support-a", "quarantine")
    refused = stack.chat("support-a", quorum={"use_case": CASE})
    assert refused.status_code == 403, refused.text
    assert "quarantine" in refused.json()["error"]["message"]
    assert "no model to reroute to" in refused.json()["error"]["message"]

    move("support-b", "production")
    served_by_b = double.stats()["by_model"].get(UPSTREAM["support-b"], 0)
    rerouted = stack.chat("support-a", quorum={"use_case": CASE})
    assert rerouted.status_code == 200, rerouted.text
    assert double.stats()["by_model"][UPSTREAM["support-b"]] == served_by_b + 1
    wait_for(
        "the rerouted completion, judged as support-b's",
        lambda: len(stack.evaluations("support-b", CASE)) == 4,
        30,
        every=0.5,
    )
