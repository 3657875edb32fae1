"""One judge call through the real litellm client: retry hints, the circuit breaker between
attempts, and what the vote says when retries stop early."""

import time
from collections.abc import Iterator

import pytest

from judges import BreakerPolicy, BreakerState, CallErrorKind
from judges.litellm_client import configure_litellm
from tests.doubles.judge_server import JudgeDouble
from tests.support.calls import HELPFULNESS, ITEM, judge, runner


@pytest.fixture(scope="module", autouse=True)
def _litellm() -> None:
    configure_litellm()


@pytest.fixture
def fresh(double: JudgeDouble) -> Iterator[JudgeDouble]:
    double.reset()
    yield double


def calls(double: JudgeDouble, behaviour: str) -> int:
    return double.stats()["by_model"].get(behaviour, 0)


# --- retry hints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour",
    [
        "hint-proxy-0.6-flaky-1-429-honest",  # llm_provider-retry-after, as a proxy sends it
        "hint-ms-600-flaky-1-429-honest",
        "hint-s-0.6-flaky-1-429-honest",
    ],
)
async def test_the_retry_waits_as_long_as_the_hint_says(fresh: JudgeDouble, behaviour: str) -> None:
    [vote] = await runner().run(
        [judge(fresh, behaviour, max_retries=2)], HELPFULNESS, ITEM, deadline_s=10
    )
    assert vote.usable and vote.value == 4 and vote.attempts == 2
    assert vote.latency_ms >= 600  # not the 10-20 ms backoff
    assert vote.latency_ms < 3000


async def test_a_hint_past_the_deadline_stops_the_retries_at_once(fresh: JudgeDouble) -> None:
    behaviour = "hint-proxy-60-status-429"
    started = time.monotonic()
    [vote] = await runner().run(
        [judge(fresh, behaviour, max_retries=3)], HELPFULNESS, ITEM, deadline_s=5
    )
    assert time.monotonic() - started < 2  # no sleep into the deadline
    assert vote.error is CallErrorKind.RATE_LIMITED
    assert vote.attempts == 1 and calls(fresh, behaviour) == 1
    assert vote.detail.startswith("HTTP 429: ")
    assert "retry hint 60 s" in vote.detail
    assert "retries stopped after 1 attempt(s): the provider asks to wait 60 s" in vote.detail
    assert "left before the panel deadline" in vote.detail


async def test_a_hint_holds_the_judges_next_calls(fresh: JudgeDouble) -> None:
    """A provider asking for a minute was asked again by the very next evaluation (and
    refused it at once): the hint now holds the judge's calls until it has passed."""
    behaviour = "hint-s-60-status-429"
    panel = runner()
    [first] = await panel.run([judge(fresh, behaviour)], HELPFULNESS, ITEM, deadline_s=5)
    assert first.error is CallErrorKind.RATE_LIMITED and calls(fresh, behaviour) == 1
    [second] = await panel.run([judge(fresh, behaviour)], HELPFULNESS, ITEM, deadline_s=5)
    assert second.error is CallErrorKind.RATE_LIMITED and second.attempts == 0
    assert second.detail.startswith(
        ("the provider asked to wait 60", "the provider asked to wait 59")
    )
    assert second.detail.endswith("before the panel deadline; not called")
    assert calls(fresh, behaviour) == 1  # not called


async def test_a_call_held_by_a_short_hint_waits_for_it(fresh: JudgeDouble) -> None:
    """A hint shorter than what is left of the next call's deadline is waited out, then
    the call goes out."""
    behaviour = "hint-s-0.6-flaky-1-429-honest"
    panel = runner()
    [cut] = await panel.run([judge(fresh, behaviour)], HELPFULNESS, ITEM, deadline_s=0.3)
    assert cut.error is CallErrorKind.RATE_LIMITED  # the hint outlasted this deadline
    started = time.monotonic()
    [vote] = await panel.run([judge(fresh, behaviour)], HELPFULNESS, ITEM, deadline_s=5)
    assert vote.value == 4 and vote.attempts == 1
    assert time.monotonic() - started > 0.3  # it waited for the rest of the hint
    assert calls(fresh, behaviour) == 2


async def test_exhausted_retries_keep_the_hint_on_the_vote(fresh: JudgeDouble) -> None:
    behaviour = "hint-ms-50-status-429"
    [vote] = await runner().run(
        [judge(fresh, behaviour, max_retries=1)], HELPFULNESS, ITEM, deadline_s=5
    )
    assert vote.error is CallErrorKind.RATE_LIMITED and vote.attempts == 2
    assert "retry hint 0.05 s" in vote.detail
    assert "max_retries 1 reached" in vote.detail


# --- the circuit breaker ------------------------------------------------------------------


async def test_rate_limits_do_not_open_the_circuit(fresh: JudgeDouble) -> None:
    panel = runner(breaker=BreakerPolicy(failures=2, cooldown_s=60))
    limited = judge(fresh, "status-429", max_retries=0)
    for _ in range(4):
        [vote] = await panel.run([limited], HELPFULNESS, ITEM, deadline_s=5)
        assert vote.error is CallErrorKind.RATE_LIMITED and vote.attempts == 1
    assert calls(fresh, "status-429") == 4  # every call went out
    assert panel.breaker("j").state is BreakerState.CLOSED


@pytest.mark.parametrize("behaviour", ["status-500", "status-503", "html-502"])
async def test_server_errors_do_open_it(fresh: JudgeDouble, behaviour: str) -> None:
    panel = runner(breaker=BreakerPolicy(failures=2, cooldown_s=60))
    failing = judge(fresh, behaviour, max_retries=0)
    errors = [(await panel.run([failing], HELPFULNESS, ITEM, deadline_s=5))[0] for _ in range(3)]
    assert [v.error for v in errors] == [
        CallErrorKind.SERVER_ERROR,
        CallErrorKind.SERVER_ERROR,
        CallErrorKind.CIRCUIT_OPEN,
    ]
    assert errors[2].attempts == 0 and errors[2].detail.endswith("not called")
    assert calls(fresh, behaviour) == 2


async def test_the_circuit_opening_between_attempts_keeps_the_real_error(
    fresh: JudgeDouble,
) -> None:
    panel = runner(breaker=BreakerPolicy(failures=2, cooldown_s=60))
    [vote] = await panel.run(
        [judge(fresh, "status-503", max_retries=3)], HELPFULNESS, ITEM, deadline_s=5
    )
    # Two real calls got a 503; the third attempt was refused by the open circuit.
    assert calls(fresh, "status-503") == 2
    assert vote.error is CallErrorKind.SERVER_ERROR
    assert vote.attempts == 2
    assert vote.detail.startswith("HTTP 503: Simulated HTTP 503 from judge double.")
    assert vote.detail.endswith("retries stopped after 2 attempt(s): circuit open")
    assert "not called" not in vote.detail


async def test_a_call_cut_by_the_panel_deadline_does_not_count_against_the_judge(
    fresh: JudgeDouble,
) -> None:
    panel = runner(breaker=BreakerPolicy(failures=1, cooldown_s=60))
    slow = judge(fresh, "sleep-3000-honest", timeout_s=30)
    [vote] = await panel.run([slow], HELPFULNESS, ITEM, deadline_s=0.3)
    assert vote.error is CallErrorKind.DEADLINE and vote.attempts == 1
    assert "panel deadline passed during the call" in vote.detail
    assert panel.breaker("j").state is BreakerState.CLOSED


async def test_a_judges_own_timeout_does_count(fresh: JudgeDouble) -> None:
    panel = runner(breaker=BreakerPolicy(failures=1, cooldown_s=60))
    slow = judge(fresh, "sleep-3000-honest", timeout_s=0.2, max_retries=0)
    [vote] = await panel.run([slow], HELPFULNESS, ITEM, deadline_s=5)
    assert vote.error is CallErrorKind.TIMEOUT
    assert panel.breaker("j").state is BreakerState.OPEN
