"""The replay: single judges and panels scored on synthetic sets with known answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

from backtest.datasets import load_dataset
from backtest.replay import human_reference, run_backtest
from rubrics import Rubric
from tests.support.records import WAVES, pairwise_records, pointwise_records, rows, write_set


def test_pairwise_known_answers(tmp_path: Path) -> None:
    result = run_backtest(load_dataset(write_set(tmp_path, "toy-pair", pairwise_records())))
    assert (result.n_items, result.n_referenced, result.n_human_ties, result.n_unlabelled) == (
        43,
        40,
        2,
        1,
    )
    assert result.forced_choice
    r = rows(result)
    assert [name for name, row in r.items() if row.kind != "jury"] == [
        "oracle (single order)",
        "oracle (both orders)",
        "echo (single order)",
        "echo (both orders)",
        "first (single order)",
        "first (both orders)",
        "majority",
        "weighted",
        "dawid-skene",
        "plurality of raw votes",
        *WAVES,
    ]
    for name in ("oracle (single order)", "oracle (both orders)", "echo (both orders)"):
        kappa = r[name].kappa
        assert kappa is not None and kappa.value == pytest.approx(1.0)
        assert (r[name].accuracy, r[name].coverage) == (1.0, 1.0)
    assert r["oracle (single order)"].calls_per_item == 1.0
    assert r["oracle (both orders)"].calls_per_item == 2.0
    # "first" says A in the AB order: right exactly where the humans said A (26 of 40).
    assert r["first (single order)"].accuracy == pytest.approx(26 / 40)
    # Reconciled, every one of its verdicts is a tie: no coverage, and a tie counts as wrong.
    assert (r["first (both orders)"].coverage, r["first (both orders)"].accuracy) == (0.0, 0.0)
    for panel in ("majority", "weighted", "dawid-skene"):
        assert r[panel].accuracy == 1.0, panel
        assert r[panel].calls_per_item == 6.0  # recorded calls, unscored ones too
    # Quorum 2: oracle and echo agree in the first wave, so "first" is never asked.
    assert result.quorum == 2
    for name in WAVES:
        assert (r[name].accuracy, r[name].calls_per_item) == (1.0, 4.0), name
    assert result.weights is not None
    assert dict(zip(result.weights.judges, result.weights.sources, strict=True)) == {
        "oracle": "human",
        "echo": "human",
        "first": "human",
    }
    assert result.weight_sources["first"] == {"human": 5}

    pos = {p.judge: p for p in result.position}
    first = pos["first"]
    assert (first.inconsistency_rate, first.first_position_rate) == (1.0, 1.0)
    assert (first.n_comparable, first.n_first_won) == (43, 43)
    assert first.ci_low == pytest.approx(float(proportion_confint(43, 43, method="wilson")[0]))
    assert (pos["oracle"].inconsistency_rate, pos["oracle"].n_unusable_votes) == (0.0, 0)
    assert (pos["echo"].n_comparable, pos["echo"].n_unusable_votes) == (38, 5)
    assert result.fleiss_kappa is not None and result.krippendorff_alpha is not None


def test_pointwise_ordinal_known_answers(tmp_path: Path) -> None:
    result = run_backtest(load_dataset(write_set(tmp_path, "toy-ordinal", pointwise_records())))
    assert (result.n_referenced, result.kappa_weights) == (30, "quadratic")
    r = rows(result)
    assert [name for name, row in r.items() if row.kind != "jury"] == [
        "sharp",
        "low",
        "lazy",
        "majority",
        "median",
        "mean",
        "weighted",
        "dawid-skene",
        "plurality of raw votes",
        *WAVES,
    ]
    assert r["sharp"].accuracy == 1.0
    assert r["sharp"].kappa is not None and r["sharp"].kappa.value == pytest.approx(1.0)
    assert r["sharp"].kappa.method == "cohen_kappa[quadratic]"
    assert r["lazy"].coverage == pytest.approx(27 / 30)
    assert r["low"].accuracy == 0.0  # one below the reference everywhere (never 1)
    assert result.position == ()


def test_binary_scale_has_no_mean_panel(tmp_path: Path) -> None:
    records = [
        {
            "item": str(i),
            "mode": "pointwise",
            "scale": [False, True],
            "votes": [
                {"judge": "a", "order": None, "value": i % 2 == 0, "unscored": None},
                {"judge": "b", "order": None, "value": i % 4 == 0, "unscored": None},
            ],
            "human": [i % 2 == 0],
        }
        for i in range(12)
    ]
    result = run_backtest(load_dataset(write_set(tmp_path, "toy-bool", records)))
    assert [row.name for row in result.rows if row.kind != "jury"] == [
        "a",
        "b",
        "majority",
        "median",
        "weighted",
        "dawid-skene",
        "plurality of raw votes",
        *WAVES,
    ]
    assert result.kappa_weights == "none"
    assert rows(result)["a"].accuracy == 1.0


def test_human_reference() -> None:
    nominal = Rubric(
        id="p", version=1, description="d", mode="pairwise", scale=("A", "B", "tie"), criteria="c"
    )
    ordinal = Rubric(
        id="o", version=1, description="d", mode="pointwise", scale=(1, 2, 3, 4, 5), criteria="c"
    )
    assert human_reference(nominal, ["tie", "B", "tie"]) == ("tie", False)
    assert human_reference(nominal, ["A", "B", "tie"]) == (None, True)
    assert human_reference(nominal, []) == (None, False)
    assert human_reference(ordinal, [1, 2]) == (2, False)
    assert human_reference(ordinal, [1, 5]) == (3, False)
    assert human_reference(ordinal, [1, 2, 5]) == (2, False)
    assert human_reference(ordinal, [4, 5, 5, 4]) == (5, False)


def test_the_progress_bar_counts_items_not_items_times_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    dataset = load_dataset(write_set(tmp_path, "toy-ordinal", pointwise_records()))
    n = len(dataset.items)
    run_backtest(dataset, progress=True)
    shown = capsys.readouterr().err
    totals = {int(t) for t in re.findall(r"\d+/(\d+) \[", shown)}
    assert totals == {n}, shown[-500:]  # "12/12 [" never "108/108 ["
    passes = re.findall(r"toy-ordinal (\d+)/(\d+) ", shown)
    assert passes and max(int(i) for i, _ in passes) == int(passes[0][1]) > 1
