"""The backtest's sequential and cascade rows: recorded votes asked in waves, as the
service asks them (the same waves, stopping rules and runner loop)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.config import PanelConfig
from backtest.datasets import load_dataset
from backtest.replay import run_backtest
from backtest.strategies import (
    AGGREGATION,
    STRATEGIES,
    StrategyReplay,
    ask_in_waves,
    replay_strategy,
)
from judges import ChatRequest, ChatResult, JudgeConfig, PanelRunner, Vote, canonical
from routing import Aggregation
from routing.sequential import default_quorum, stop_rule, waves
from rubrics import Item, Rubric, ScaleValue
from tests.support.records import pv, rows, write_set
from tests.support.votes import concluded, recorded_vote

PAIR = {"mode": "pairwise", "scale": ["A", "B", "tie"]}
PAIRWISE = Rubric(
    id="p", version=1, description="d", mode="pairwise", scale=("A", "B", "tie"), criteria="c"
)


def consistent(judge: str, value: str) -> list[dict[str, Any]]:
    """Both orders recorded, the same canonical verdict in each."""
    mirror = {"A": "B", "B": "A", "tie": "tie"}
    return [pv(judge, "AB", value), pv(judge, "BA", mirror[value])]


def worked_records() -> list[dict[str, Any]]:
    """Four judges (quorum 3: waves g h k | m), both orders, worked by hand:

    item  g  h  k  m   human  all judges  sequential   cascade 0.75  cascade 0.6
    w0    A  A  A  B   A      A, 8 calls  A, 6 (3-0)   A, 6 (0.8)    A, 6
    w1    A  B  A  B   A      tie, 8      tie, 8       tie, 8 (0.6)  A, 6 (0.6)
    w2    A  A  B  A   A      A, 8        A, 8 (2-1)   A, 8          A, 6
    w3    A* A  A  B   A      A, 8        A, 6         A, 6          A, 6
    (* g's BA call came back empty: one usable order, still two calls; the 3-0 settles)
    """
    w3_g = [pv("g", "AB", "A"), pv("g", "BA", None, "empty completion")]
    table = {
        "w0": [*consistent("g", "A"), *consistent("h", "A"), *consistent("k", "A")],
        "w1": [*consistent("g", "A"), *consistent("h", "B"), *consistent("k", "A")],
        "w2": [*consistent("g", "A"), *consistent("h", "A"), *consistent("k", "B")],
        "w3": [*w3_g, *consistent("h", "A"), *consistent("k", "A")],
    }
    last = {"w0": "B", "w1": "B", "w2": "A", "w3": "B"}
    return [
        {"item": item, **PAIR, "votes": [*votes, *consistent("m", last[item])], "human": ["A"]}
        for item, votes in table.items()
    ]


def test_hand_worked_calls_and_verdicts(tmp_path: Path) -> None:
    result = run_backtest(load_dataset(write_set(tmp_path, "worked", worked_records())), folds=2)
    r = rows(result)
    assert result.quorum == 3
    assert [row.name for row in result.rows if row.kind == "strategy"] == [
        "sequential",
        "sequential, waves of 1",
        "cascade 0.6",
        "cascade 0.75",
        "cascade 0.75, waves of 1",
    ]
    assert r["majority"].calls_per_item == 8.0
    assert r["sequential"].calls_per_item == (6 + 8 + 8 + 6) / 4
    assert r["cascade 0.75"].calls_per_item == (6 + 8 + 8 + 6) / 4
    assert r["cascade 0.6"].calls_per_item == 6.0
    # With four judges and a quorum of 3, waves of one ask the same judges.
    assert r["sequential, waves of 1"].calls_per_item == r["sequential"].calls_per_item
    assert r["cascade 0.75, waves of 1"].calls_per_item == r["cascade 0.75"].calls_per_item
    # Verdicts: A, tie, A, A for every panel but the 0.6 cascade, which stopped on w1's 2-1.
    for name in ("majority", "sequential", "cascade 0.75"):
        assert (r[name].accuracy, r[name].coverage) == (0.75, 0.75), name
    assert (r["cascade 0.6"].accuracy, r["cascade 0.6"].coverage) == (1.0, 1.0)


def test_hand_worked_votes_asked(tmp_path: Path) -> None:
    dataset = load_dataset(write_set(tmp_path, "worked", worked_records()))
    items = [it.votes for it in dataset.items]
    seq = replay_strategy(
        dataset.rubric, items, dataset.judges, StrategyReplay(strategy="sequential")
    )
    assert [sorted({v.judge for v in votes}) for votes in seq] == [
        ["g", "h", "k"],
        ["g", "h", "k", "m"],
        ["g", "h", "k", "m"],
        ["g", "h", "k"],
    ]
    assert [len(votes) for votes in seq] == [6, 8, 8, 6]  # w3's empty call still counts


def judged(rubric: Rubric, votes: tuple[Vote, ...] | list[Vote]) -> ScaleValue | None:
    return concluded(rubric, votes).value


def agreeing_records() -> list[dict[str, Any]]:
    """5 pointwise judges on 1..5 (quorum 3): on items 0-19 the first three agree (3-0
    already settles), on items 20-39 the first three split."""
    records = []
    for i in range(40):
        first = [4, 4, 4] if i < 20 else [2, 4, 5 - i % 3]
        values = [*first, 1 + i % 5, 1 + (i * 7) % 5]
        votes = [
            {"judge": f"j{c}", "order": None, "value": v, "unscored": None}
            for c, v in enumerate(values)
        ]
        human = [4 if i % 4 else 2]
        records.append({"item": f"a{i}", "mode": "pointwise", "scale": [1, 2, 3, 4, 5]})
        records[-1] |= {"votes": votes, "human": human}
    return records


def test_sequential_is_the_majority_with_fewer_calls(tmp_path: Path) -> None:
    dataset = load_dataset(write_set(tmp_path, "agreeing", agreeing_records()))
    rubric, items = dataset.rubric, [it.votes for it in dataset.items]
    for wave_size in (None, 1):
        replay = StrategyReplay(strategy="sequential", wave_size=wave_size)
        asked = replay_strategy(rubric, items, dataset.judges, replay)
        for i, (votes, every) in enumerate(zip(asked, items, strict=True)):
            assert judged(rubric, votes) == judged(rubric, every), (replay.name, i)
            assert set(votes) <= set(every)
            if i < 20:
                assert len(votes) == 3 < len(every)
    r = rows(run_backtest(dataset, folds=2))
    for name in ("sequential", "sequential, waves of 1"):
        assert r[name].accuracy == r["majority"].accuracy
        assert r[name].kappa == r["majority"].kappa
        assert r[name].calls_per_item < r["majority"].calls_per_item == 5.0
    assert r["sequential"].calls_per_item == (20 * 3 + 20 * 5) / 40
    assert r["cascade 0.75"].calls_per_item <= r["sequential"].calls_per_item
    assert r["cascade 0.6"].calls_per_item <= r["cascade 0.75"].calls_per_item


VOTE = st.sampled_from(["A", "B", "tie", None])


@settings(max_examples=150, deadline=None)
@given(
    table=st.lists(st.tuples(VOTE, VOTE), min_size=1, max_size=7),
    wave_size=st.sampled_from([None, 1, 2, 3]),
)
def test_sequential_never_changes_a_pairwise_verdict(
    table: list[tuple[str | None, str | None]], wave_size: int | None
) -> None:
    """Any recorded votes, both orders, some unusable: stopping early keeps the verdict."""
    dataset_votes = [
        recorded_vote(f"j{c}", value, order)
        for c, pair in enumerate(table)
        for order, value in zip(("AB", "BA"), pair, strict=True)
    ]
    judges = [f"j{c}" for c in range(len(table))]
    replay = StrategyReplay(strategy="sequential", wave_size=wave_size)
    (asked,) = replay_strategy(PAIRWISE, [dataset_votes], judges, replay)
    assert judged(PAIRWISE, asked) == judged(PAIRWISE, dataset_votes)


def test_cascade_stops_once_settled_even_below_its_confidence() -> None:
    """A cascade stops on confidence or on a settled lead, so it never asks more judges
    than a sequential panel. With waves of one, a 6-3 lead after 9 of 11 judges is settled
    (3 > the 2 left) at a confidence of only 7/11, below the cascade's 0.75."""
    rubric = Rubric(
        id="b", version=1, description="d", mode="pointwise", scale=(False, True), criteria="c"
    )
    values = [True, False, True, False, True, False, True, True, True, True, True]
    votes = [Vote(judge=f"j{c}", model="m", value=v) for c, v in enumerate(values)]
    judges = [v.judge for v in votes]
    seq, cas = (
        replay_strategy(rubric, [votes], judges, StrategyReplay(strategy=s, wave_size=1))[0]
        for s in ("sequential", "cascade")
    )
    # 11 judges, quorum 6. After 9: 6-3 with 2 left, a lead of 3 > 2: settled. Confidence
    # alone (7/11 = 0.64 after 9, 8/12 = 0.67 after 10) would have asked all 11.
    assert len(seq) == 9
    assert len(cas) == 9
    assert judged(rubric, seq) == judged(rubric, cas) is True


class RecordedJudges:
    """A `ChatClient` answering each judge's call with its recorded verdict for the order
    in which the prompt shows the two responses (an empty answer for an unscored vote)."""

    FIRST, SECOND = "alpha answer", "beta answer"

    def __init__(self, votes: tuple[Vote, ...]) -> None:
        self.votes = {(v.judge, v.order): v.value for v in votes}
        self.calls: list[tuple[str, str]] = []

    async def complete(self, request: ChatRequest) -> ChatResult:
        text = request.messages[-1]["content"]
        order = "AB" if text.index(self.FIRST) < text.index(self.SECOND) else "BA"
        self.calls.append((request.model, order))
        value = self.votes[(request.model, order)]
        if value is None:
            return ChatResult(text="")
        return ChatResult(text=json.dumps({"winner": canonical(value, order)}))


@pytest.mark.parametrize("replay", STRATEGIES, ids=lambda r: r.name)
async def test_replay_asks_what_the_panel_runner_asks(
    tmp_path: Path, replay: StrategyReplay
) -> None:
    """The service's runner, fed the recorded verdicts, calls exactly the judges the replay
    counts and collects the same votes."""
    records = [*worked_records(), *(r | {"item": f"z{r['item']}"} for r in worked_records())]
    records[-1]["votes"] = [*consistent("g", "B"), *consistent("h", "tie"), *consistent("k", "B")]
    records[-1]["votes"] += consistent("m", "B")
    dataset = load_dataset(write_set(tmp_path, "worked", records))
    rubric, judges = dataset.rubric, dataset.judges
    panel = PanelConfig(
        name="backtest",
        rubric=rubric.id,
        judges=tuple(judges),
        strategy=replay.strategy,
        wave_size=replay.wave_size,
        cascade_confidence=replay.threshold,
    )
    configs = [JudgeConfig(name=j, model=j) for j in judges]
    plan = waves(configs, panel.wave_size, panel.effective_quorum)
    weights = dict.fromkeys(judges, 1.0)
    stop = stop_rule(
        replay.strategy,
        rubric,
        Aggregation.MAJORITY,
        weights,
        panel.effective_quorum,
        panel.cascade_confidence,
    )
    replayed = replay_strategy(rubric, [it.votes for it in dataset.items], judges, replay)
    item = Item(prompt="which?", response_a=RecordedJudges.FIRST, response_b=RecordedJudges.SECOND)
    for recorded, expected in zip(dataset.items, replayed, strict=True):
        client = RecordedJudges(recorded.votes)
        got = await PanelRunner(client).run_waves(plan, rubric, item, deadline_s=10, stop=stop)
        assert sorted(client.calls) == sorted((v.judge, v.order) for v in expected)
        assert sorted((v.judge, v.order, str(v.value)) for v in got) == sorted(
            (v.judge, v.order, str(v.value)) for v in expected
        )
        assert judged(rubric, got) == judged(rubric, expected)


def test_ask_in_waves_stops_only_between_waves() -> None:
    votes = [Vote(judge=j, model="m", value=1) for j in "abc"]
    seen: list[tuple[int, list[str]]] = []

    def stop(got: Any, pending: Any) -> bool:
        seen.append((len(got), list(pending)))
        return False

    assert ask_in_waves(votes, [("a", "b"), ("c",)], stop) == tuple(votes)
    assert seen == [(2, ["c"])]  # never called once nobody is left
    assert ask_in_waves(votes, [("a",), ("b", "c")], lambda got, pending: True) == (votes[0],)


def test_row_names_reflect_the_service_default() -> None:
    assert [r.name for r in STRATEGIES] == [
        "sequential",
        "sequential, waves of 1",
        "cascade 0.6",
        "cascade 0.75",
        "cascade 0.75, waves of 1",
    ]
    # Unset fields are the service's defaults: a default cascade is the configured one.
    cascade = StrategyReplay(strategy="cascade")
    service = PanelConfig(name="backtest", rubric="p", judges=("a", "b", "c"), strategy="cascade")
    assert (cascade.strategy, cascade.threshold, cascade.wave_size, default_quorum(3)) == (
        service.strategy,
        service.cascade_confidence,
        service.wave_size,
        service.effective_quorum,
    )
    # The service's default panel is the jury (its cascades are rows of backtest.jury_run);
    # these rows replay a vote-counting panel, majority as the service's vote counting.
    assert service.aggregation is Aggregation.JURY
    assert AGGREGATION is Aggregation.MAJORITY
