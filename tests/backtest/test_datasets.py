"""The loader of the recorded-vote format: votes in the canonical frame, reasons mapped
onto Quorum's codes, one-line errors naming file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backtest.datasets import DatasetError, load_dataset
from backtest.replay import run_backtest
from judges import CallErrorKind, Vote
from rubrics import Unscored
from tests.support.records import GOOD, pv, rows, write_set
from tests.support.votes import concluded


def test_votes_are_canonical_with_reasons_mapped(tmp_path: Path) -> None:
    votes = [
        pv("j", "AB", "A"),
        pv("j", "BA", "A"),
        pv("k", "AB", None, "empty completion"),
        pv("k", "BA", None, "no_json"),
        pv("m", "AB", None, "timeout"),
        pv("m", "BA", None, "no completion: blocked by content filter"),
    ]
    record = {
        "item": "1",
        "mode": "pairwise",
        "scale": ["A", "B", "tie"],
        "votes": votes,
        "human": ["A"],
    }
    data = load_dataset(write_set(tmp_path, "Toy Set!", [record]))
    assert (data.rubric.id, data.rubric.version, data.rubric.ordinal, data.rubric.compliant) == (
        "toy-set",
        1,
        False,
        None,
    )
    ab, ba, empty, no_json, timeout, filtered = data.items[0].votes
    assert (ab.value, ab.shown_value, ba.value, ba.shown_value) == ("A", "A", "B", "A")
    assert (empty.unscored, no_json.unscored, timeout.error) == (
        Unscored.EMPTY,
        Unscored.NO_JSON,
        CallErrorKind.TIMEOUT,
    )
    assert filtered.unscored is None and filtered.error is None and not filtered.usable
    assert filtered.detail == "no completion: blocked by content filter"
    assert not any(v.usable for v in (empty, no_json, timeout))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"dataset": "d", "item": "2"}', "missing field"),
        (GOOD.replace('"1"', '"2"').replace("[1, 2]", "[1, 2, 3]"), "scale"),
        (GOOD, "already on line 1"),
        (GOOD.replace('"1"', '"2"').replace('"human": [1]', '"human": [7]'), "human label 7"),
        (
            GOOD.replace('"1"', '"2"').replace(
                '"votes": []',
                '"votes": [{"judge": "j", "order": null, "value": 9, "unscored": null}]',
            ),
            r"vote 0 \(judge 'j'\): value 9 is not on the scale",
        ),
        (
            GOOD.replace('"1"', '"2"').replace(
                '"votes": []',
                '"votes": [{"judge": "j", "order": null, "value": null, "unscored": null}]',
            ),
            "no unscored reason",
        ),
        (
            GOOD.replace('"1"', '"2"').replace(
                '"votes": []',
                '"votes": [{"judge": "j", "order": "AB", "value": 1, "unscored": null}]',
            ),
            "pointwise order must be null",
        ),
    ],
)
def test_malformed_record_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    file = tmp_path / "bad.jsonl"
    file.write_text(f"{GOOD}\n\n{line}\n")
    with pytest.raises(DatasetError, match=message) as caught:
        load_dataset(file)
    assert str(caught.value).startswith(f"{file}:3: ")
    assert "\n" not in str(caught.value)


def test_a_line_that_is_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.jsonl"
    second = GOOD.replace('"1"', '"2"').replace('"2"', '"caf\u00e9"', 1)
    file.write_bytes(f"{GOOD}\n{second}\n".encode("latin-1"))
    with pytest.raises(DatasetError) as caught:
        load_dataset(file)
    column = second.index("\u00e9") + 1
    assert str(caught.value) == f"{file}:2: not UTF-8 text: byte 0xe9 at column {column}"


def test_pairwise_votes_with_both_orders_averaged(tmp_path: Path) -> None:
    """`order: null` on a pairwise item: the source averaged both orders into one vote,
    kept in the canonical frame as it is, and scored as one judge row."""
    records = [
        {
            "item": f"v{i}",
            "mode": "pairwise",
            "scale": ["A", "B", "tie"],
            "votes": [
                {"judge": "avg", "order": None, "value": "A" if i < 8 else "B", "unscored": None},
                pv("pair", "AB", "A"),
                pv("pair", "BA", "B"),  # shown B in BA is canonical A
            ],
            "human": ["A"],
        }
        for i in range(10)
    ]
    data = load_dataset(write_set(tmp_path, "averaged", records))
    avg, ab, ba = data.items[0].votes
    assert (avg.order, avg.value, avg.shown_value, avg.usable) == (None, "A", "A", True)
    assert (ab.value, ba.value, ba.shown_value) == ("A", "A", "B")
    r = rows(run_backtest(data, folds=2))
    assert "avg (single order)" not in r and "avg (both orders)" not in r
    averaged = r["avg (orders averaged)"]
    assert (averaged.accuracy, averaged.coverage, averaged.calls_per_item) == (0.8, 1.0, 1.0)
    assert r["pair (both orders)"].accuracy == 1.0
    # The panel counts the averaged vote once: 2 A's on v0-v7; 1 A, 1 B (a tie) on v8, v9.
    assert (r["majority"].accuracy, r["majority"].calls_per_item) == (0.8, 3.0)


def prob_record(item: str, votes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"item": item, "mode": "pointwise", "scale": [1, 2, 3], "votes": votes, "human": [3]}


def test_votes_with_a_probability_per_scale_value(tmp_path: Path) -> None:
    """`prob` (scale order) and `distribution` (value text -> probability) both land on
    the Vote, keyed by value text; routing's confidence then uses them."""
    records = [
        prob_record("a", [{"judge": "j", "value": 3, "unscored": None, "prob": [0.1, 0.2, 0.7]}]),
        prob_record(
            "b", [{"judge": "j", "value": 3, "distribution": {"3": 0.5, "2": 0.25, "1": 0.25}}]
        ),
        prob_record("c", [{"judge": "j", "value": 3, "prob": [0.333, 0.333, 0.333]}]),
        prob_record("d", [{"judge": "j", "value": 3}]),
    ]
    data = load_dataset(write_set(tmp_path, "probs", records))
    a, b, c, d = (item.votes[0] for item in data.items)
    assert a.distribution == pytest.approx({"1": 0.1, "2": 0.2, "3": 0.7})
    assert b.distribution == {"3": 0.5, "2": 0.25, "1": 0.25}
    assert c.distribution == pytest.approx({"1": 1 / 3, "2": 1 / 3, "3": 1 / 3})  # renormalised
    assert d.distribution is None

    # Laplace's rule with the judge's probability on the verdict: (p + 1) / (1 + 2).
    def confidence(vote: Vote) -> float:
        return concluded(data.rubric, [vote]).confidence

    confidences = [confidence(a), confidence(d)]
    assert confidences == pytest.approx([(0.7 + 1) / 3, (1 + 1) / 3])


def test_pairwise_probabilities_are_in_the_canonical_frame(tmp_path: Path) -> None:
    vote = pv("j", "BA", "B") | {"prob": [0.9, 0.1, 0.0]}  # shown B first in BA: canonical A
    record = {"item": "1", "mode": "pairwise", "scale": ["A", "B", "tie"], "votes": [vote]}
    data = load_dataset(write_set(tmp_path, "pp", [record | {"human": ["A"]}]))
    (loaded,) = data.items[0].votes
    assert (loaded.value, loaded.distribution) == ("A", {"A": 0.9, "B": 0.1, "tie": 0.0})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"prob": [0.5, 0.5]}, r"prob has 2 values, the scale 3 \['1', '2', '3'\]"),
        ({"prob": [0.5, 0.5, 0.5]}, "prob sums to 1.5, not 1"),
        ({"prob": [1.2, -0.2, 0.0]}, r"prob\.1: Input should be greater than or equal to 0"),
        ({"distribution": {"3": 0.5, "4": 0.5}}, r"distribution keys \['4'\] are not on"),
        ({"prob": [0, 0, 1], "distribution": {"3": 1.0}}, "give prob or distribution, not both"),
    ],
)
def test_malformed_probabilities_name_the_vote(
    tmp_path: Path, extra: dict[str, Any], message: str
) -> None:
    vote = {"judge": "j", "order": None, "value": 3, "unscored": None} | extra
    file = tmp_path / "bad.jsonl"
    file.write_text(json.dumps({"dataset": "d"} | prob_record("1", [vote])) + "\n")
    with pytest.raises(DatasetError, match=f"vote 0 \\(judge 'j'\\): {message}") as caught:
        load_dataset(file)
    assert str(caught.value).startswith(f"{file}:1: ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"votes": ["j"]}, "vote 0: expected an object with a non-empty judge"),
        (
            {"votes": [{"judge": "j", "order": "XY", "value": "A"}]},
            r"vote 0 \(judge 'j'\): order must be AB, BA or null \(both orders averaged\), "
            "got 'XY'",
        ),
        (
            {"votes": [{"judge": "j", "order": "AB", "value": 1.0}]},
            r"vote 0 \(judge 'j'\): value 1.0 is not a scale value",
        ),
        ({"human": [1.5]}, "human label 1.5 is not a scale value"),
        ({"item": True}, "item must be a non-empty string or integer id, got True"),
        ({"scale": None}, "scale is null"),
    ],
)
def test_ill_typed_record_names_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    record = {"dataset": "d", "item": "1", "mode": "pairwise", "scale": ["A", "B", "tie"]}
    file = tmp_path / "bad.jsonl"
    file.write_text(json.dumps(record | {"votes": [], "human": ["A"]} | change) + "\n")
    with pytest.raises(DatasetError, match=message) as caught:
        load_dataset(file)
    assert str(caught.value).startswith(f"{file}:1: ") and "\n" not in str(caught.value)
