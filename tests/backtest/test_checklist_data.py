"""Checklist data in the recorded-vote format: one record per item, per-question votes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backtest.datasets import DatasetError, load_dataset
from backtest.replay import PERMISSIVE
from routing import Aggregation, conclude
from rubrics import Mode, Unscored
from tests.support.records import write_set

QUESTIONS = [
    {"id": "polite", "text": "Is it polite?", "required": True, "na": False},
    {"id": "sourced", "text": "Does it cite sources?", "required": False, "na": True},
]


def cv(judge: str, value: str | None, order: list[str], **answers: str | None) -> dict[str, Any]:
    vote: dict[str, Any] = {"judge": judge, "value": value, "answers": answers}
    vote["question_order"] = order
    if value is None:
        vote["unscored"] = "incomplete"
    return vote


def record(item: str, votes: list[dict[str, Any]], human: list[str]) -> dict[str, Any]:
    return {
        "item": item,
        "mode": "checklist",
        "scale": ["fail", "pass"],
        "questions": QUESTIONS,
        "votes": votes,
        "human": human,
    }


def test_checklist_records_load_with_their_per_question_votes(tmp_path: Path) -> None:
    records = [
        record(
            "1",
            [
                cv("a", "pass", ["polite", "sourced"], polite="yes", sourced="n/a"),
                cv("b", "fail", ["sourced", "polite"], polite="no", sourced="yes"),
                cv("c", None, ["polite", "sourced"], polite=None, sourced="no"),
            ],
            ["pass"],
        ),
        record("2", [cv("a", "pass", ["sourced", "polite"], polite="yes")], []),
    ]
    data = load_dataset(write_set(tmp_path, "checks", records))
    assert data.rubric.mode is Mode.CHECKLIST
    assert [q.id for q in data.rubric.questions] == ["polite", "sourced"]
    a, b, c = data.items[0].votes
    assert a.answers == {"polite": "yes", "sourced": "n/a"} and a.question_order == (
        "polite",
        "sourced",
    )
    assert b.value == "fail" and b.question_order == ("sourced", "polite")
    assert (
        c.value is None
        and c.unscored is Unscored.INCOMPLETE
        and c.answers == {"polite": None, "sourced": "no"}
    )
    assert data.items[1].votes[0].answers == {
        "polite": "yes",
        "sourced": None,
    }  # left out: unscored
    verdict = conclude(
        data.rubric,
        data.items[0].votes,
        aggregation=Aggregation.MAJORITY,
        quorum=1,
        policy=PERMISSIVE,
        weights={},
        audit_draw=1.0,
    )
    polite, sourced = verdict.questions
    assert polite.agreement.usable_votes == 2 and polite.agreement.fleiss_p_i == 0.0
    assert sourced.answers == {"a": "n/a", "b": "yes", "c": "no"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"questions": None}, "a checklist record needs its questions"),
        (
            {"votes": [cv("a", "pass", ["polite", "sourced"], polite="maybe")]},
            "answer 'maybe' to 'polite'",
        ),
        (
            {"votes": [cv("a", "pass", ["polite", "sourced"], rude="yes")]},
            "unknown questions ['rude']",
        ),
        ({"votes": [cv("a", "pass", ["polite"], polite="yes")]}, "question_order is not an order"),
    ],
)
def test_malformed_checklist_records_are_refused(
    tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    bad = {**record("1", [], ["pass"]), **change}
    with pytest.raises(DatasetError, match=words.replace("[", "\\[")):
        load_dataset(write_set(tmp_path, "bad", [bad]))


def test_every_record_of_a_file_has_the_same_questions(tmp_path: Path) -> None:
    other = {**record("2", [], []), "questions": QUESTIONS[:1]}
    with pytest.raises(DatasetError, match=r"questions .* differs from the first record"):
        load_dataset(write_set(tmp_path, "mixed", [record("1", [], ["pass"]), other]))


def test_answers_on_a_pointwise_record_are_refused(tmp_path: Path) -> None:
    line = {"item": "1", "mode": "pointwise", "scale": [1, 2], "human": [1]}
    line["votes"] = [{"judge": "a", "value": 1, "answers": {"q": "yes"}}]
    with pytest.raises(DatasetError, match="answers belong to checklist records"):
        load_dataset(write_set(tmp_path, "pw", [line]))
