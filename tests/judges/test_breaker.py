"""The per-judge circuit breaker: a state machine on an injected clock, and in a panel."""

from __future__ import annotations

import time

import pytest

from judges import (
    BreakerPolicy,
    BreakerState,
    CallErrorKind,
    CircuitBreaker,
    JudgeConfig,
    PanelRunner,
)
from judges.litellm_client import LiteLLMClient, configure_litellm
from rubrics import LIBRARY_DIR, Item, load_rubrics
from tests.doubles.judge_server import JudgeDouble


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_probes_after_cooldown() -> None:
    clock = Clock()
    b = CircuitBreaker(BreakerPolicy(failures=3, cooldown_s=10), clock)
    for _ in range(2):
        assert b.allow()
        b.failure()
    b.success()  # a success resets the count
    for _ in range(3):
        assert b.allow()
        b.failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    clock.now = 9.9
    assert not b.allow()
    clock.now = 10.0
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()  # one probe
    assert not b.allow()  # and only one
    b.failure()  # the probe failed: open again, for a fresh cooldown
    assert b.state is BreakerState.OPEN
    clock.now = 19.9
    assert not b.allow()
    clock.now = 20.0
    assert b.allow()
    b.success()
    assert b.state is BreakerState.CLOSED and b.allow() and b.allow()


def test_abandoned_probe_frees_the_slot() -> None:
    clock = Clock()
    b = CircuitBreaker(BreakerPolicy(failures=1, cooldown_s=1), clock)
    b.failure()
    clock.now = 1.0
    assert b.allow()
    b.abandon()
    assert b.state is BreakerState.HALF_OPEN and b.allow()


def test_record_counts_outages_only() -> None:
    clock = Clock()
    b = CircuitBreaker(BreakerPolicy(failures=2, cooldown_s=10), clock)
    b.record(CallErrorKind.SERVER_ERROR)
    for _ in range(5):  # rate limits and unknown failures: neither failure nor success
        b.record(CallErrorKind.RATE_LIMITED)
        b.record(CallErrorKind.OTHER)
    assert b.state is BreakerState.CLOSED
    b.record(CallErrorKind.TIMEOUT)  # the second outage in a row, 429s in between
    assert b.state is BreakerState.OPEN
    clock.now = 10.0
    assert b.allow()  # the probe...
    b.record(CallErrorKind.RATE_LIMITED)  # ...is rate limited: the provider is up
    assert b.state is BreakerState.HALF_OPEN and b.allow()  # the next probe may go
    b.record(CallErrorKind.AUTH)  # an answer, even a refusal, shows the endpoint is up
    assert b.state is BreakerState.CLOSED
    b.record(CallErrorKind.CONNECTION)
    b.record(None)  # an answer resets the count
    b.record(CallErrorKind.CONNECTION)
    assert b.state is BreakerState.CLOSED


async def test_panel_stops_calling_a_dead_judge(double: JudgeDouble) -> None:
    configure_litellm()
    rubric = load_rubrics([LIBRARY_DIR])["helpfulness"]
    dead = JudgeConfig(
        name="dead", model="openai/status-503", api_base=double.base_url, max_retries=0
    )
    alive = JudgeConfig(name="alive", model="openai/honest", api_base=double.base_url)
    runner = PanelRunner(LiteLLMClient(), breaker=BreakerPolicy(failures=2, cooldown_s=0.5))
    item = Item(prompt="p", response="[[q=4]]")
    double.reset()
    outcomes = []
    for _ in range(4):
        votes = await runner.run([dead, alive], rubric, item, deadline_s=10)
        outcomes.append(votes[0].error)
        assert votes[1].value == 4  # the panel keeps working
    assert outcomes == [
        CallErrorKind.SERVER_ERROR,
        CallErrorKind.SERVER_ERROR,
        CallErrorKind.CIRCUIT_OPEN,
        CallErrorKind.CIRCUIT_OPEN,
    ]
    calls = [r for r in double.requests if r["model"] == "status-503"]
    assert len(calls) == 2  # no call while the circuit was open
    time.sleep(0.6)
    votes = await runner.run([dead, alive], rubric, item, deadline_s=10)
    assert votes[0].error is CallErrorKind.SERVER_ERROR  # the half-open probe went out
    assert len([r for r in double.requests if r["model"] == "status-503"]) == 3
    assert runner.breaker("dead").state is BreakerState.OPEN


@pytest.mark.parametrize("failures", [0])
def test_policy_rejects_nonsense(failures: int) -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(failures=failures)


def test_a_hold_is_capped_and_only_ever_extended() -> None:
    from judges.breaker import MAX_HOLD_S

    now = [100.0]
    breaker = CircuitBreaker(BreakerPolicy(), clock=lambda: now[0])
    assert breaker.held_for() == 0.0
    breaker.hold(3600)  # a proxy asking for an hour holds for MAX_HOLD_S
    assert breaker.held_for() == MAX_HOLD_S
    breaker.hold(10)  # a shorter hint does not shorten the hold
    assert breaker.held_for() == MAX_HOLD_S
    now[0] += MAX_HOLD_S
    assert breaker.held_for() == 0.0 and breaker.allow()  # the circuit is another matter
