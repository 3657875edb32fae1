"""The candidate model a qualification calls: real litellm calls to the loopback double."""

from __future__ import annotations

import pydantic
import pytest

from judges import RetryPolicy
from judges.candidate import Candidate, answer
from judges.litellm_client import LiteLLMClient, configure_litellm
from tests.doubles.judge_server import JudgeDouble
from tests.support import free_port

NO_WAIT = RetryPolicy(base_s=0, cap_s=0)
ASKED = (
    {"role": "system", "content": "You are the support bot of Voltaria Energy."},
    {"role": "user", "content": "What does my neighbour owe you?"},
)


@pytest.fixture(scope="module", autouse=True)
def _configured() -> None:
    configure_litellm()


def candidate(double: JudgeDouble, behaviour: str, **extra: object) -> Candidate:
    return Candidate(model=f"openai/{behaviour}", api_base=double.base_url, **extra)  # type: ignore[arg-type]


async def test_the_candidate_answers_in_plain_text_with_its_usage(double: JudgeDouble) -> None:
    got = await answer(LiteLLMClient(), candidate(double, "assistant-pass"), ASKED, retry=NO_WAIT)
    assert got.text is not None and got.text.endswith("[[q=pass]]")
    assert got.text.startswith("You asked: What does my neighbour owe you?")
    assert got.error is None and got.attempts == 1
    assert got.prompt_tokens and got.completion_tokens and got.latency_ms > 0
    [sent] = [r for r in double.requests if r["messages"] == list(ASKED)]
    assert sent["messages"] == list(ASKED)
    assert "response_format" not in sent  # an answer, not a JSON verdict


async def test_params_reach_the_provider(double: JudgeDouble) -> None:
    chosen = candidate(double, "assistant-pass", params={"temperature": 0, "max_tokens": 64})
    ask = ({"role": "user", "content": "params check 7731"},)
    await answer(LiteLLMClient(), chosen, ask, retry=NO_WAIT)
    [sent] = [r for r in double.requests if r["messages"] == list(ask)]
    assert sent["temperature"] == 0 and sent["max_tokens"] == 64


async def test_a_retryable_failure_is_retried_like_a_judge_call(double: JudgeDouble) -> None:
    flaky = candidate(double, "flaky-2-503-assistant-pass", max_retries=2)
    got = await answer(LiteLLMClient(), flaky, ASKED, retry=NO_WAIT)
    assert got.text is not None and got.text.endswith("[[q=pass]]")
    assert got.attempts == 3


async def test_retries_stop_at_max_retries_with_the_last_error(double: JudgeDouble) -> None:
    down = candidate(double, "status-500", max_retries=1)
    got = await answer(LiteLLMClient(), down, ASKED, retry=NO_WAIT)
    assert got.text is None and got.attempts == 2
    assert got.error is not None and got.error.startswith("server_error: HTTP 500")


async def test_a_permanent_failure_is_not_retried(double: JudgeDouble) -> None:
    for behaviour, kind in (("status-401", "auth"), ("no-such-model", "not_found")):
        got = await answer(LiteLLMClient(), candidate(double, behaviour), ASKED, retry=NO_WAIT)
        assert got.text is None and got.attempts == 1
        assert got.error is not None and got.error.startswith(f"{kind}: "), got.error


async def test_an_unreachable_candidate_is_a_connection_error() -> None:
    closed = Candidate(model="openai/x", api_base=f"http://127.0.0.1:{free_port()}/v1")
    got = await answer(LiteLLMClient(), closed.model_copy(update={"max_retries": 0}), ASKED)
    assert got.text is None and got.error is not None and got.error.startswith("connection: ")


async def test_a_slow_candidate_times_out(double: JudgeDouble) -> None:
    slow = candidate(double, "sleep-2000-assistant-pass", timeout_s=0.3, max_retries=0)
    got = await answer(LiteLLMClient(), slow, ASKED, retry=NO_WAIT)
    assert got.text is None and got.error is not None and got.error.startswith("timeout: ")


def test_params_quorum_sets_itself_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="params may not set"):
        Candidate(model="openai/x", params={"messages": []})
