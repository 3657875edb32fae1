"""Provider answers that are wrong in their envelope (usage, logprobs, content, pace),
through the real litellm client to the double: the verdict in the text stands, what is
wrong is ignored and said, and nothing wrong becomes a crash, a stuck circuit or a hang."""

import re
import time
from collections.abc import Iterator

import pytest

from judges import (
    BreakerPolicy,
    CallErrorKind,
    ChatRequest,
    ChatResult,
    Vote,
)
from judges.litellm_client import UNREADABLE_DETAIL, LiteLLMClient, configure_litellm
from rubrics import Item, Unscored
from rubrics.parse import MAX_PARSED_CHARS
from tests.doubles.judge_server import JudgeDouble
from tests.support.calls import HELPFULNESS, ITEM, judge, runner


@pytest.fixture(scope="module", autouse=True)
def _litellm() -> None:
    configure_litellm()


@pytest.fixture
def fresh(double: JudgeDouble) -> Iterator[JudgeDouble]:
    double.reset()
    yield double


async def one_vote(double: JudgeDouble, behaviour: str, **kw: object) -> Vote:
    [vote] = await runner().run(
        [judge(double, behaviour, max_retries=0, **kw)], HELPFULNESS, ITEM, deadline_s=10
    )
    return vote


@pytest.mark.parametrize("kind", ["neg", "huge"])
async def test_usage_that_is_no_token_count_is_unknown_and_the_verdict_stands(
    fresh: JudgeDouble, kind: str
) -> None:
    """Negative counts made the metrics raise after the verdict was stored (a 500 for a
    decided evaluation); 10^30 overflowed the database column and failed the evaluation."""
    vote = await one_vote(fresh, f"usage-{kind}-honest")
    assert vote.value == 4 and vote.error is None
    assert vote.prompt_tokens is None and vote.completion_tokens is None
    assert "usage prompt_tokens" in vote.detail and "ignored: not a token count" in vote.detail


@pytest.mark.parametrize("behaviour", ["usage-str-honest", "parts-honest"])
async def test_an_answer_litellm_cannot_read_is_no_outage(
    fresh: JudgeDouble, behaviour: str
) -> None:
    """litellm raises these as connection errors with a made-up 500; the endpoint answered,
    so five of them in a row must not open the circuit (they did)."""
    quick = runner(breaker=BreakerPolicy(failures=2, cooldown_s=60))
    for _ in range(4):
        [vote] = await quick.run(
            [judge(fresh, behaviour, max_retries=0)], HELPFULNESS, ITEM, deadline_s=10
        )
        assert (vote.error, vote.detail) == (CallErrorKind.OTHER, UNREADABLE_DETAIL)
    assert fresh.stats()["by_model"][behaviour] == 4  # every call went out: circuit closed


@pytest.mark.parametrize("kind", ["str", "null", "positive", "notlist"])
async def test_malformed_logprobs_are_ignored_and_said(fresh: JudgeDouble, kind: str) -> None:
    """They raised inside the client: an `internal error` vote that lost a good verdict, its
    tokens and cost (and, on a half-open circuit's probe, left the circuit stuck open)."""
    vote = await one_vote(fresh, f"logprobs-badlp-{kind}-honest", logprobs=True)
    assert vote.value == 4 and vote.error is None and vote.prompt_tokens
    assert vote.distribution is None
    assert "logprobs ignored" in vote.detail


async def test_alternatives_adding_up_to_more_than_one_are_no_distribution(
    fresh: JudgeDouble,
) -> None:
    """Three alternatives at logprob -0.01 each (total probability 2.97) were renormalised
    into a confident-looking distribution of 1/3 each."""
    good = await one_vote(fresh, "logprobs-honest", logprobs=True)
    assert good.distribution is not None and good.distribution["4"] > 0.5
    heavy = await one_vote(fresh, "logprobs-badlp-heavy-honest", logprobs=True)
    assert heavy.value == 4 and heavy.distribution is None


async def test_a_trickled_answer_is_cut_at_the_judges_timeout_and_retried(
    fresh: JudgeDouble,
) -> None:
    """litellm's timeout bounds each read; a body sent a byte every 50 ms (about 20 s in
    all) held its one attempt to the panel deadline. The judge's timeout now bounds each
    attempt as a whole."""
    started = time.monotonic()
    [vote] = await runner().run(
        [judge(fresh, "drip-50-honest", timeout_s=1, max_retries=1)],
        HELPFULNESS,
        ITEM,
        deadline_s=8,
    )
    assert vote.error is CallErrorKind.TIMEOUT and vote.attempts == 2
    assert time.monotonic() - started < 5  # two attempts of 1 s, not the 8 s deadline


class BrokenOnce(LiteLLMClient):
    """The real client, failing with a defect of its own (not a call error) on chosen calls."""

    def __init__(self, broken: set[int]) -> None:
        super().__init__()
        self.broken, self.calls = broken, 0

    async def complete(self, request: ChatRequest) -> ChatResult:
        self.calls += 1
        result = await super().complete(request)
        if self.calls in self.broken:
            raise ValueError("could not convert string to float: 'high'")
        return result


async def test_a_client_defect_on_the_half_open_probe_frees_the_probe(
    fresh: JudgeDouble,
) -> None:
    """A non-call error raised by the client was not told to the breaker, so a half-open
    circuit kept waiting for its probe's outcome and never let another call out."""
    client = BrokenOnce(broken={2})
    panel = runner(client, breaker=BreakerPolicy(failures=1, cooldown_s=0.2))
    flaky = judge(fresh, "flaky-1-500-honest", max_retries=0)
    [first] = await panel.run([flaky], HELPFULNESS, ITEM, deadline_s=10)
    assert first.error is CallErrorKind.SERVER_ERROR  # the circuit opens
    time.sleep(0.25)
    [probe] = await panel.run([flaky], HELPFULNESS, ITEM, deadline_s=10)
    assert probe.error is CallErrorKind.OTHER
    assert probe.detail.startswith("internal error: ValueError: could not convert")
    [after] = await panel.run([flaky], HELPFULNESS, ITEM, deadline_s=10)
    assert after.error is None and after.value == 4  # called, not `circuit_open`
    assert client.calls == 3


async def test_a_huge_output_is_stored_as_its_parsed_tail(fresh: JudgeDouble) -> None:
    """A 5 MB answer was stored whole with every vote."""
    big = Item(prompt="p", response="x" * (MAX_PARSED_CHARS + 10_000))
    [vote] = await runner().run(
        [judge(fresh, "echo", max_retries=0)], HELPFULNESS, big, deadline_s=10
    )
    assert vote.raw_output is not None
    note = re.match(r"\[(10,0\d\d) characters not kept\]", vote.raw_output)
    assert note is not None, vote.raw_output[:40]  # 10,000 and the echo's line breaks
    assert len(vote.raw_output) == note.end() + MAX_PARSED_CHARS
    assert vote.raw_output.rstrip().endswith("x" * 1000)


@pytest.mark.parametrize(
    "reason, unscored",
    [("length", Unscored.TRUNCATED), ("content_filter", Unscored.FILTERED)],
)
async def test_an_answer_the_provider_stopped_short_is_unscored(
    fresh: JudgeDouble, reason: str, unscored: Unscored
) -> None:
    """A verdict in an answer cut at max_tokens (the judge may have been revising it) or
    stopped by a content filter was counted."""
    vote = await one_vote(fresh, f"finish-{reason}-honest")
    assert vote.value is None and vote.unscored is unscored and vote.error is None
    assert f"finish_reason {reason}" in vote.detail and "it held 4, not taken" in vote.detail
    assert vote.prompt_tokens  # the call was paid for: its usage is kept
    finished = await one_vote(fresh, "finish-stop-honest")
    assert finished.value == 4


@pytest.mark.parametrize(
    "behaviour, said",
    [
        ("refusal", "the model refused: I can't help with grading this response."),
        ("toolcall", "the answer is a tool call, not text"),
    ],
)
async def test_an_answer_with_no_text_says_what_it_was(
    fresh: JudgeDouble, behaviour: str, said: str
) -> None:
    """Both were only "empty output"."""
    vote = await one_vote(fresh, behaviour)
    assert vote.unscored is Unscored.EMPTY and vote.value is None
    assert said in vote.detail
