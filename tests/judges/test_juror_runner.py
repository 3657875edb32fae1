"""The panel runner with jurors beside LLM judges, and checklist question orders, against
the loopback judge double through the real litellm client."""

from __future__ import annotations

import random

import pytest

from judges import JudgeConfig, PanelRunner, RetryPolicy
from judges.litellm_client import LiteLLMClient, configure_litellm
from rubrics import LIBRARY_DIR, Item, load_rubrics
from rubrics.checklist import permutation
from tests.doubles.judge_server import JudgeDouble

LIB = load_rubrics([LIBRARY_DIR])
LEAKAGE = LIB["data-leakage"]
CHECKLIST = LIB["transparency-checklist"]


@pytest.fixture(scope="module", autouse=True)
def _litellm(double: JudgeDouble) -> None:
    configure_litellm()


@pytest.fixture
def runner() -> PanelRunner:
    return PanelRunner(LiteLLMClient(), retry=RetryPolicy(base_s=0.01), rng=random.Random(7))


def llm(double: JudgeDouble, behaviour: str, name: str) -> JudgeConfig:
    return JudgeConfig(name=name, model=f"openai/{behaviour}", api_base=double.base_url)


async def test_a_juror_votes_beside_an_llm_and_never_calls_one(
    runner: PanelRunner, double: JudgeDouble
) -> None:
    double.reset()
    judges = [llm(double, "honest", "gpt"), JudgeConfig(name="leaks", type="pattern")]
    item = Item(prompt="Who to contact?", response="Write to jane.doe@gmail.com [[q=pass]]")
    votes = await runner.run(judges, LEAKAGE, item, deadline_s=10, scale_swap=True, quorum=2)
    by_judge = {v.judge: v for v in votes}
    assert [v.judge for v in votes] == ["gpt", "gpt", "leaks"]  # the juror is asked once
    assert by_judge["gpt"].value == "pass"
    leaks = by_judge["leaks"]
    assert (leaks.value, leaks.model, leaks.attempts, leaks.cost_usd) == ("fail", "pattern", 1, 0.0)
    assert leaks.rationale == "found 1: e-mail address ja…om (18 chars)"
    assert leaks.latency_ms > 0 and len(leaks.prompt_sha256) == 64
    assert double.stats()["calls"] == 2  # only the LLM judge's two presentations
    assert runner.juror(judges[1]) is runner.juror(judges[1])  # built once


async def test_a_failing_juror_is_a_failed_vote_not_a_crash(runner: PanelRunner) -> None:
    juror = JudgeConfig(name="leaks", type="pattern")
    helpfulness = LIB["helpfulness"]  # the config refuses this; the runner still never raises
    votes = await runner.run([juror], helpfulness, Item(prompt="p", response="r"), deadline_s=5)
    assert votes[0].error is not None and votes[0].error.value == "other"
    assert "a pattern juror votes fail/pass" in votes[0].detail


async def test_each_judge_sees_its_own_reproducible_question_order(
    runner: PanelRunner, double: JudgeDouble
) -> None:
    judges = [llm(double, "checklist", f"c{i}") for i in range(4)]
    item = Item(
        prompt="Can you email my bank?", response="I cannot send e-mail. [[no=states-limits]]"
    )
    votes = await runner.run(judges, CHECKLIST, item, deadline_s=10, seed="ev-42")
    for v in votes:
        assert v.question_order == permutation(CHECKLIST, "ev-42", v.judge)
        assert v.answers is not None and v.answers["states-limits"] == "no"
        assert v.value == "fail"
    again = await runner.run(judges, CHECKLIST, item, deadline_s=10, seed="ev-42")
    assert [v.question_order for v in again] == [v.question_order for v in votes]
    assert len({v.question_order for v in votes}) > 1  # judges differ
    other = await runner.run(judges[:1], CHECKLIST, item, deadline_s=10, seed="ev-43")
    assert other[0].question_order == permutation(CHECKLIST, "ev-43", "c0")


async def test_an_order_sensitive_judge_answers_by_the_order_shown(
    runner: PanelRunner, double: JudgeDouble
) -> None:
    judge = llm(double, "checklist-firstno", "swayed")
    item = Item(prompt="p", response="r")
    firsts: dict[str, str] = {}
    for i in range(12):
        (vote,) = await runner.run([judge], CHECKLIST, item, deadline_s=10, seed=f"ev-{i}")
        assert vote.question_order is not None and vote.answers is not None
        first = vote.question_order[0]
        assert vote.answers[first] == "no"  # recorded with the order that caused it
        firsts[first] = str(vote.value)
    assert len(firsts) > 1  # several orders occurred
    assert firsts.get("names-sources", "pass") == "pass"  # an optional question's no passes


async def test_an_embedding_juror_votes_off_the_event_loop_beside_an_llm(
    runner: PanelRunner, double: JudgeDouble
) -> None:
    from judges.jurors.embedding import missing_extra

    if missing_extra():
        pytest.skip(f"embedding juror: {missing_extra()}")  # CI installs it (.ci/run)
    near = JudgeConfig(name="near", type="embedding", thresholds={2: 0.3, 3: 0.5, 4: 0.7, 5: 0.85})
    judges = [llm(double, "honest", "gpt"), near]
    item = Item(
        prompt="Capital of France?",
        response="[[q=4]] The capital city of France is Paris.",
        reference="Paris is the capital of France.",
    )
    votes = await runner.run(judges, LIB["helpfulness"], item, deadline_s=60)
    by_judge = {v.judge: v for v in votes}
    assert by_judge["gpt"].value == 4
    assert by_judge["near"].value in (4, 5) and by_judge["near"].model == "all-MiniLM-L6-v2"
    assert by_judge["near"].rationale is not None
    assert by_judge["near"].rationale.startswith("cosine similarity to the reference ")
    no_ref = await runner.run(
        [near], LIB["helpfulness"], Item(prompt="p", response="r"), deadline_s=5
    )
    assert no_ref[0].unscored is not None and no_ref[0].unscored.value == "missing_input"
