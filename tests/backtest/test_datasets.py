"""The loader of the recorded-vote format: votes in the canonical frame, reasons mapped
onto Quorum's codes, one-line errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.datasets import DatasetError, load_dataset
from judges import CallErrorKind
from rubrics import Unscored
from tests.backtest.sets import GOOD, pv, write_set


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
