"""The recorded-vote format, defined once: the audit export writes `ItemRecord` lines and
the backtest loader reads them back into the same votes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.config import QuorumConfig
from api.services.audit import record
from api.store.tables import EvaluationRow, ReviewDecisionRow, ReviewItemRow, VoteRow
from backtest.datasets import load_dataset
from judges import CallErrorKind
from judges.record import ItemRecord, VoteRecord
from rubrics import Rubric

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ONE_TO_FIVE = Rubric(
    id="helpfulness",
    version=2,
    description="d",
    mode="pointwise",
    scale=(1, 2, 3, 4, 5),
    criteria="c",
)
PAIRWISE = Rubric(
    id="preference",
    version=1,
    description="d",
    mode="pairwise",
    scale=("A", "B", "tie"),
    criteria="c",
)
CONFIG = QuorumConfig(
    path="q.yaml", judges={}, panels={}, rubrics={r.id: r for r in (ONE_TO_FIVE, PAIRWISE)}
)


def evaluation(item: str, rubric: Rubric, **fields: Any) -> EvaluationRow:
    kind = "comparison" if rubric.mode == "pairwise" else "evaluation"
    defaults: dict[str, Any] = {
        "status": "done",
        "input": {"prompt": "p", "response": "r"},
        "request_sha256": "0" * 64,
        "audit_draw": 0.5,
        "created_at": WHEN,
        "completed_at": WHEN,
    }
    return EvaluationRow(
        id=item,
        kind=kind,
        panel="jury",
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        **(defaults | fields),
    )


def vote(item: str, judge: str, **fields: Any) -> VoteRow:
    defaults: dict[str, Any] = {
        "model": f"openai/{judge}",
        "prompt_sha256": "f" * 64,
        "latency_ms": 12.5,
        "attempts": 1,
        "created_at": WHEN,
    }
    return VoteRow(evaluation_id=item, judge=judge, **(defaults | fields))


def export(tmp_path: Path, lines: list[dict[str, Any]]) -> Path:
    out = tmp_path / "export.jsonl"
    out.write_text(
        "".join(json.dumps(line, ensure_ascii=False, default=str) + "\n" for line in lines)
    )
    return out


def test_export_line_has_the_dataset_fields_then_the_audit_record() -> None:
    row = evaluation("e1", ONE_TO_FIVE, verdict_value=4, verdict_source="panel", app="shop")
    line = record(row, [vote("e1", "a", value=4, shown_value=4)], None, [], CONFIG)
    assert list(line) == [
        "dataset",
        "item",
        "mode",
        "scale",
        "input",
        "votes",
        "human",
        "label_kind",
        "meta",
        "audit",
    ]
    assert list(line["votes"][0]) == [
        "judge",
        "order",
        "value",
        "unscored",
        "model",
        "params",
        "reversed_scale",
        "shown_value",
        "raw_output",
        "rationale",
        "detail",
        "prompt_sha256",
        "latency_ms",
        "attempts",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "distribution",
        "created_at",
    ]
    assert (line["dataset"], line["mode"], line["scale"], line["human"]) == (
        "jury",
        "pointwise",
        [1, 2, 3, 4, 5],
        [],  # the panel decided: no human label
    )
    assert line["meta"] == {"app": "shop"}
    assert line["votes"][0]["created_at"] == "2026-03-01T12:00:00+00:00"
    assert line["audit"]["rubric"] == {"id": "helpfulness", "version": 2}
    assert line["audit"]["review"] is None
    assert ItemRecord.model_validate(line).dump() == line


def test_an_export_loads_in_the_backtest(tmp_path: Path) -> None:
    """Pointwise and pairwise exports round-trip: values, orders, reasons, the reviewer's
    verdict as the human label, and the logprob distribution on the vote."""
    scored = evaluation("e1", ONE_TO_FIVE, verdict_value=4, verdict_source="human")
    review = ReviewItemRow(
        id="r1",
        evaluation_id="e1",
        panel="jury",
        status="decided",
        uncertainty=0.4,
        final_value=4,
        decided_at=WHEN,
    )
    decision = ReviewDecisionRow(
        review_item_id="r1", evaluation_id="e1", reviewer="ann", stage="review", value=4
    )
    votes = [
        vote("e1", "a", value=4, shown_value=4, distribution={"4": 0.75, "5": 0.25}),
        vote("e1", "b", error="timeout", attempts=3),
        vote("e1", "c", unscored="no_json", raw_output="nope"),
    ]
    line = record(scored, votes, review, [decision], CONFIG)
    assert line["audit"]["review"]["decisions"][0]["reviewer"] == "ann"
    (item,) = load_dataset(export(tmp_path, [line])).items
    a, b, c = item.votes
    assert (item.item, item.human) == ("e1", (4,))
    assert (a.judge, a.model, a.value, a.distribution) == (
        "a",
        "openai/a",
        4,
        {"4": 0.75, "5": 0.25},
    )
    assert (b.error, b.usable, c.unscored, c.usable) == (
        CallErrorKind.TIMEOUT,
        False,
        "no_json",
        False,
    )

    compared = evaluation("c1", PAIRWISE)
    pair = [
        vote("c1", "a", order="AB", value="A", shown_value="A"),
        vote("c1", "a", order="BA", value="A", shown_value="B"),
    ]
    dataset = load_dataset(export(tmp_path, [record(compared, pair, None, [], CONFIG)]))
    assert dataset.rubric.mode == "pairwise" and dataset.items[0].human == ()
    ab, ba = dataset.items[0].votes
    assert (ab.order, ab.value, ba.order, ba.value, ba.shown_value) == ("AB", "A", "BA", "A", "B")


def test_record_checks_types_not_meaning() -> None:
    """Types are strict (`true` is not `1`); the scale, the mode's orders and the file's
    consistency are the loader's to check, so any export record validates."""
    base = {"dataset": "d", "item": "1", "mode": "pointwise", "scale": [1, 2], "human": []}
    ok = ItemRecord.model_validate(base | {"votes": [{"judge": "j", "order": "AB", "value": 9}]})
    assert ok.votes[0].value == 9 and ok.votes[0].unscored is None
    assert ItemRecord.model_validate(base | {"votes": [], "scale": None}).scale is None
    with pytest.raises(ValidationError):
        VoteRecord.model_validate({"judge": "j", "value": 1.5})
    with pytest.raises(ValidationError):
        VoteRecord.model_validate({"judge": " ", "value": 1})
    with pytest.raises(ValidationError):
        ItemRecord.model_validate(base | {"votes": [], "item": True})
    assert VoteRecord.model_validate({"judge": "j", "value": True}).value is True
    assert VoteRecord.model_validate({"judge": "j", "value": "1"}).value == "1"
