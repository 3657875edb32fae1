"""The jury rows of the backtest: cross-fitted labels, the default row, soft and
order-averaged votes, the production case and the cascades."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backtest import jury
from backtest.datasets import load_dataset
from backtest.markdown import BEGIN, END, write_markdown
from backtest.replay import run_backtest
from backtest.report import write_json
from routing.jury import Worker, fit_votes, observations, posterior
from tests.support.records import pairwise_records, pointwise_records, pv, rows, write_set


def _constant_set(tmp_path: Path, n: int, folds: int, seed: int) -> Path:
    """One judge that always says true; each item's label is the opposite of what the
    labels of the *other* fold say, so only its own label could make it right.

    Fold 0 (the larger) is labelled true and fold 1 false. A fold-0 model that sees only
    fold 1's labels (all false) must call every fold-0 item false, and vice versa:
    accuracy exactly 0. Any leak of an item's own label into its model would move the
    class prior towards it (with every label, true is the majority and fold 0 is right).
    """
    fold_of = jury.fold_assignment(n, folds, seed)
    records = [
        {
            "item": f"i{i}",
            "mode": "pointwise",
            "scale": [False, True],
            "votes": [{"judge": "const", "order": None, "value": True, "unscored": None}],
            "human": [bool(fold_of[i] == 0)],
        }
        for i in range(n)
    ]
    return write_set(tmp_path, "adversarial", records)


def test_cross_fitting_never_uses_an_items_own_label(tmp_path: Path) -> None:
    ds = load_dataset(_constant_set(tmp_path, 31, 2, 0))
    fold_of = jury.fold_assignment(31, 2, 0)
    assert (fold_of == 0).sum() != (fold_of == 1).sum()
    result = run_backtest(ds, folds=2, seed=0, labels=1000, dependence_cv=False)
    default = next(row for row in result.rows if row.default)
    assert default.accuracy == 0.0
    assert result.jury is not None
    # Every fold's model used exactly the other fold's labels, no more.
    assert [f.n_labelled for f in result.jury.folds] == [int((fold_of != f).sum()) for f in (0, 1)]
    # A model fitted with every label (a leak) gets fold 0 right: the test can fail.
    leaked = fit_votes(ds.rubric, [it.votes for it in ds.items], [it.human for it in ds.items])
    assert posterior(leaked, ds.items[0].votes).value is True
    # cross_fit refuses labels of the fold being judged.
    with pytest.raises(ValueError, match="include items of fold 0"):
        jury.cross_fit(ds, np.zeros(31, dtype=np.int64), lambda f: set(range(31)))


def test_labels_cap_and_random_labels_stay_in_other_folds(tmp_path: Path) -> None:
    ds = load_dataset(write_set(tmp_path, "toy-pair", pairwise_records()))
    fold_of = jury.fold_assignment(len(ds.items), 5, 3)
    for f in range(5):
        chosen = jury.random_labels(ds, fold_of, f, 7, 3)
        assert len(chosen) == 7
        assert all(fold_of[i] != f and ds.items[i].human for i in chosen)
    result = run_backtest(ds, seed=3, labels=7, dependence_cv=False)
    assert result.jury is not None
    assert all(f.n_labelled <= 7 for f in (*result.jury.folds, *result.jury.production))
    none = run_backtest(ds, seed=3, labels=0, dependence_cv=False)
    assert none.jury is not None and all(f.n_labelled == 0 for f in none.jury.folds)
    assert "jury (no labels)" in rows(none)


def test_default_row_is_marked_in_the_json(tmp_path: Path) -> None:
    ds = load_dataset(write_set(tmp_path, "toy-pair", pairwise_records()))
    result = run_backtest(ds, labels=20)
    marked = [row for row in result.rows if row.default]
    assert [row.name for row in marked] == ["jury (<= 20 labels)"]
    assert marked[0].accuracy == 1.0  # the oracle's both orders carry the jury
    out = tmp_path / "bt.json"
    write_json([result], out, command="quorum backtest")
    data: dict[str, Any] = json.loads(out.read_text())["results"][0]
    assert [r["name"] for r in data["rows"] if r["default"]] == ["jury (<= 20 labels)"]
    (analysis,) = [a for a in data["routing"] if a["default"]]
    assert analysis["aggregation"] == "jury"
    repeats = analysis["calibration"][0]["repeats"]
    assert {"mean_held_out_coverage", "exceeded_share"} <= set(repeats)
    assert data["jury"]["labels"] == 20 and data["jury"]["dependence_cv"]
    rel = result.jury.reliability if result.jury else None
    assert rel is not None and rel.accuracy == marked[0].accuracy
    assert 0.5 <= rel.mean_confidence <= 1.0 and 0.0 <= rel.ece <= 1.0
    assert data["jury"]["reliability"]["plain_ece"] == pytest.approx(rel.plain_ece)
    assert all(0 < f.temperature <= 1 for f in result.jury.folds)
    names = list(rows(result))
    assert "plurality of raw votes" in names
    assert names[-2:] == [
        "jury cascade: exact stop",
        next(n for n in names if n.startswith("jury cascade:") and n != "jury cascade: exact stop"),
    ]


def _soft_set(tmp_path: Path, name: str, soft: bool) -> Path:
    """Three judges with both orders averaged (order null); `soft`: with probabilities."""
    records = []
    for i in range(40):
        gold = "A" if i % 3 else "B"
        votes = []
        for j, right in (("x", 0.9), ("y", 0.7), ("z", 0.6)):
            value = (
                gold
                if (i * 7 + len(j) * 3 + int(right * 10)) % 10 < right * 10
                else ("B" if gold == "A" else "A")
            )
            vote: dict[str, Any] = {"judge": j, "order": None, "value": value, "unscored": None}
            if soft:
                p = [0.55, 0.45, 0.0] if value == "A" else [0.45, 0.55, 0.0]
                vote["prob"] = p
            votes.append(vote)
        records.append(
            {
                "item": f"s{i}",
                "mode": "pairwise",
                "scale": ["A", "B", "tie"],
                "votes": votes,
                "human": [gold],
            }
        )
    return write_set(tmp_path, name, records)


def test_order_averaged_and_probability_votes_flow_into_the_jury(tmp_path: Path) -> None:
    hard = load_dataset(_soft_set(tmp_path, "hard", soft=False))
    soft = load_dataset(_soft_set(tmp_path, "soft", soft=True))
    fold_of = jury.fold_assignment(40, 5, 0)

    def fitted(ds: Any) -> jury.CrossFit:
        return jury.cross_fit(ds, fold_of, lambda f: jury.random_labels(ds, fold_of, f, 20, 0))

    h, s = fitted(hard), fitted(soft)
    # One worker per judge, without an order: the averaged vote is one reading.
    assert set(h.models[0].workers) == {Worker(judge=j) for j in "xyz"}
    assert set(s.models[0].workers) == {Worker(judge=j) for j in "xyz"}
    # The probabilities reach the model as soft votes ...
    soft_obs = observations(soft.rubric.scale, soft.items[0].votes)
    assert soft_obs[Worker(judge="x")] in ((0.55, 0.45, 0.0), (0.45, 0.55, 0.0))
    # ... and a 0.55 / 0.45 vote is weak evidence: the soft jury is much less sure.
    assert float(np.mean(s.confidence)) < float(np.mean(h.confidence)) - 0.2
    result = run_backtest(soft, dependence_cv=False)
    assert "x (orders averaged)" in rows(result)
    assert next(row for row in result.rows if row.default).accuracy is not None


def test_cascade_exact_stop_keeps_the_parallel_verdicts(tmp_path: Path) -> None:
    ds = load_dataset(write_set(tmp_path, "toy-pair", pairwise_records()))
    fold_of = jury.fold_assignment(len(ds.items), 5, 0)
    cf = jury.cross_fit(ds, fold_of, lambda f: jury.random_labels(ds, fold_of, f, 100, 0))
    asked = jury.cascade(ds, fold_of, cf.models, math.inf)
    assert jury.verdicts_of(ds, fold_of, cf.models, asked) == cf.verdicts
    assert sum(map(len, asked)) < sum(len(it.votes) for it in ds.items)
    assert jury.presentations_of([it.votes for it in ds.items]) == (("AB", False), ("BA", False))


def test_production_labels_come_from_routed_and_audited_items(tmp_path: Path) -> None:
    records = pairwise_records()
    for r in records[::4]:  # the oracle and echo split on some items: low confidence
        r["votes"][2] = pv("echo", "AB", "B" if r["votes"][0]["value"] == "A" else "A")
    ds = load_dataset(write_set(tmp_path, "toy-mixed", records))
    n = len(ds.items)
    fold_of = jury.fold_assignment(n, 5, 0)
    pick, counts = jury.production_labels(ds, fold_of, 1000, 0.0, 0)
    start = jury.cross_fit(ds, np.zeros(n, dtype=np.int64), lambda f: set())
    for f in range(5):
        chosen = pick(f)
        assert chosen == {
            i
            for i in range(n)
            if fold_of[i] != f and ds.items[i].human and start.confidence[i] < jury.ROUTING_FLOOR
        }
        assert counts(f)["n_audited"] == 0
    everything, _ = jury.production_labels(ds, fold_of, 1000, 1.0, 0)
    assert everything(0) == {i for i in range(n) if fold_of[i] != 0 and ds.items[i].human}
    capped, _ = jury.production_labels(ds, fold_of, 3, 1.0, 0)
    assert len(capped(0)) == 3


def test_plurality_counts_every_raw_vote(tmp_path: Path) -> None:
    ds = load_dataset(write_set(tmp_path, "toy-pair", pairwise_records()))
    # Item 0 (gold B): oracle B, B; echo B (its BA call failed: no vote); "first" shows
    # A first each time, so A in AB and B in the canonical frame in BA: 4 B to 1 A.
    assert jury.plurality(ds, ds.items[0].votes) == "B"
    assert jury.plurality(ds, ds.items[1].votes) == "A"
    tie = [v for v in ds.items[0].votes if v.order == "AB" and v.judge in ("oracle", "first")]
    assert jury.plurality(ds, tie) is None  # one B, one A: no verdict


@pytest.mark.parametrize("labels", [-1])
def test_bad_labels_raise(tmp_path: Path, labels: int) -> None:
    ds = load_dataset(write_set(tmp_path, "toy-pair", pairwise_records()))
    with pytest.raises(ValueError, match="labels"):
        run_backtest(ds, labels=labels)


def test_cascade_at_threshold_zero_asks_one_judge(tmp_path: Path) -> None:
    # A calibration that certifies every item (threshold 0) stops after the first wave.
    ds = load_dataset(write_set(tmp_path, "toy-pair", pairwise_records()))
    fold_of = jury.fold_assignment(len(ds.items), 5, 0)
    cf = jury.cross_fit(ds, fold_of, lambda f: jury.random_labels(ds, fold_of, f, 100, 0))
    asked = jury.cascade(ds, fold_of, cf.models, 0.0)
    assert all({v.judge for v in votes} == {"oracle"} for votes in asked)


def test_markdown_replaces_only_the_generated_region(tmp_path: Path) -> None:
    ds = load_dataset(write_set(tmp_path, "toy-pair", pairwise_records()))
    result = run_backtest(ds, labels=20, dependence_cv=False)
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Title\n\nprose before\n\n{BEGIN}\nstale\n{END}\n\nprose after\n")
    write_markdown([result], doc, command="quorum backtest toy")
    text = doc.read_text()
    assert text.startswith("# Title\n\nprose before\n\n") and text.endswith("\n\nprose after\n")
    assert "stale" not in text and "quorum backtest toy" in text
    assert "| toy-pair | 43 | **1.000" in text  # the default row, against its targets
    fresh = tmp_path / "new.md"
    write_markdown([result], fresh, command="c")
    assert fresh.read_text().startswith(BEGIN)


def test_selection_records_each_folds_error_model(tmp_path: Path) -> None:
    # The default (--select scale) on a pairwise set: each fold chooses among the menu on
    # its own training labels; the toy panel's first-position judge needs per-order
    # matrices, which the one-accuracy-per-judge model cannot represent, so no fold takes
    # it; its two orders cancel in a plain count, so the equal-judges model (the
    # plurality) is right on every item too, and on 20 training labels a fold may take it.
    ds = load_dataset(write_set(tmp_path, "toy-pair", pairwise_records()))
    fold_of = jury.fold_assignment(len(ds.items), 2, 0)
    cf = jury.cross_fit(ds, fold_of, lambda f: jury.random_labels(ds, fold_of, f, 100, 0))
    assert all(f.error_model and "one-coin" not in f.error_model for f in cf.fits)
    for f in cf.fits:
        assert f.selection_scores is not None
        assert set(f.selection_scores) == {
            "shrunk",
            "one-coin",
            "equal judges",
            "shrunk labels-only",
            "one-coin labels-only",
            "equal judges labels-only",
        }
        assert f.selection_scores["shrunk"] > f.selection_scores["one-coin"]
        lo = f.selection_scores
        assert lo["shrunk labels-only"] > lo["one-coin labels-only"]
    plain = jury.cross_fit(
        ds, fold_of, lambda f: jury.random_labels(ds, fold_of, f, 100, 0), select="none"
    )
    assert plain.verdicts == cf.verdicts
    assert all(f.error_model is None for f in plain.fits)


def test_ordinal_scales_keep_the_fixed_error_model_by_default(tmp_path: Path) -> None:
    # The default (--select scale), as the service does: no selection on an ordinal
    # scale of more than two values; --select all runs it there too.
    ds = load_dataset(write_set(tmp_path, "toy-ordinal", pointwise_records()))
    fold_of = jury.fold_assignment(len(ds.items), 2, 0)

    def labels(f: int) -> set[int]:
        return jury.random_labels(ds, fold_of, f, 100, 0)

    default = jury.cross_fit(ds, fold_of, labels)
    assert all(f.error_model is None for f in default.fits)
    assert default.verdicts == jury.cross_fit(ds, fold_of, labels, select="none").verdicts
    every = jury.cross_fit(ds, fold_of, labels, select="all")
    for f in every.fits:
        assert f.selection_scores is not None
        assert set(f.selection_scores) == {
            "shrunk",
            "one-coin",
            "ordinal",
            "equal judges",
            "shrunk labels-only",
            "one-coin labels-only",
            "ordinal labels-only",
            "equal judges labels-only",
        }
