"""The routing curve and the calibrated threshold on recorded votes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.cli import main
from backtest.datasets import load_dataset
from backtest.replay import run_backtest
from backtest.report import curve_rows, format_result
from backtest.routing_curve import RoutingSettings, routing_curve
from routing.calibration_check import apply_split
from tests.support.records import bool_vote, pointwise_records, pv, rows, write_set


def graded_records() -> tuple[list[dict[str, Any]], list[float], list[bool]]:
    """300 labelled items (and 5 unlabelled) whose panel confidence rises with agreement.

    Five judges on [false, true]: 150 items unanimous and right; 70 split 4-1 (60 right,
    10 wrong); 80 split 3-2 (40 right, 40 wrong). Also returns the expected confidence
    ((votes for the verdict + 1) / 7) and agreement of each labelled item, in file order.
    """
    records: list[dict[str, Any]] = []
    conf: list[float] = []
    agree: list[bool] = []
    plan = [(5, True)] * 150 + [(4, True)] * 60 + [(4, False)] * 10
    plan += [(3, True), (3, False)] * 40
    for i, (majority, right) in enumerate(plan + [(5, True)] * 5):
        gold = i % 2 == 0
        verdict = gold if right else not gold
        values = [verdict] * majority + [not verdict] * (5 - majority)
        records.append(
            {
                "item": f"g{i}",
                "mode": "pointwise",
                "scale": [False, True],
                "votes": [bool_vote(f"j{j}", v) for j, v in enumerate(values)],
                "human": [gold] if i < len(plan) else [],
            }
        )
        if i < len(plan):
            conf.append(round((majority + 1) / 7, 12))  # as routing.confidence rounds
            agree.append(right)
    return records, conf, agree


def test_routing_curve_and_calibration_on_graded_set(tmp_path: Path) -> None:
    records, conf, agree = graded_records()
    settings = RoutingSettings(alphas=(0.05, 0.1, 0.2), delta=0.1, splits=6)
    result = run_backtest(
        load_dataset(write_set(tmp_path, "graded", records)), seed=3, routing=settings
    )
    (routing,) = [a for a in result.routing if not a.default]
    assert (routing.aggregation, routing.n_items) == ("majority", 300)
    assert routing.agreement == pytest.approx(250 / 300) == rows(result)["majority"].accuracy
    # The curve: one point per distinct confidence, ascending; agreement rises with it.
    got = [(p.threshold, p.to_humans, p.n_auto, p.auto_agreement) for p in routing.curve]
    expected = [(4 / 7, 0, 300, 250 / 300), (5 / 7, 80 / 300, 220, 210 / 220), (6 / 7, 0.5, 150, 1)]
    np.testing.assert_allclose(np.array(got), np.array(expected))
    assert routing.curve[-1].auto_agreement >= routing.curve[0].auto_agreement
    # Calibration: exactly routing.calibration_check.apply_split on the same numbers.
    assert [c.alpha for c in routing.calibration] == [0.05, 0.1, 0.2]
    for check in routing.calibration:
        direct = apply_split(np.array(conf), np.array(agree), alpha=check.alpha, delta=0.1, seed=3)
        mine = check.split
        assert mine.calibration.certified == direct.calibration.certified
        assert mine.calibration.threshold == direct.calibration.threshold
        assert mine.calibration.coverage == direct.calibration.coverage
        assert mine.calibration.risk_upper == direct.calibration.risk_upper
        assert mine.held_out == direct.held_out
        assert mine.within_alpha == direct.within_alpha
        assert mine.calibration.curve == ()  # left out of the JSON
        assert (check.not_certified_because is None) == direct.calibration.certified
        repeats = [
            apply_split(np.array(conf), np.array(agree), alpha=check.alpha, delta=0.1, seed=s)
            for s in range(3, 9)
        ]
        assert check.repeats is not None
        assert check.repeats.n_certified == sum(r.calibration.certified for r in repeats)
        assert check.repeats.n_exceeded == sum(not r.within_alpha for r in repeats)
        assert check.repeats.mean_held_out_coverage == pytest.approx(
            float(np.mean([r.held_out.coverage for r in repeats]))
        )
    # The unanimous items alone (half of them, never wrong) certify alpha 0.05.
    assert routing.calibration[0].split.calibration.certified
    text = format_result(result)
    assert "routing on the majority panel's confidence" in text
    assert "calibration half" in text and "over 6 splits (seeds 3-8)" in text


def test_forced_choice_tie_verdicts_disagree(tmp_path: Path) -> None:
    """Both judges flip with the order on 10 of 40 items: the majority says tie there,
    unanimously (high confidence), and a tie never agrees on a forced-choice set."""
    records = []
    for i in range(40):
        flip = i >= 30
        votes = [
            v
            for judge in ("x", "y")
            for v in (pv(judge, "AB", "A"), pv(judge, "BA", "A" if flip else "B"))
        ]
        records.append(
            {
                "item": f"t{i}",
                "mode": "pairwise",
                "scale": ["A", "B", "tie"],
                "votes": votes,
                "human": ["A"],
            }
        )
    result = run_backtest(
        load_dataset(write_set(tmp_path, "ties", records)), routing=RoutingSettings(splits=1)
    )
    assert result.forced_choice
    (routing,) = [a for a in result.routing if not a.default]
    (point,) = routing.curve  # every item has confidence 3/4: two of two agree
    assert (point.threshold, point.n_auto, point.auto_agreement) == (0.75, 40, 0.75)
    assert routing.agreement == 0.75 == rows(result)["majority"].accuracy
    assert all(c.repeats is None for c in routing.calibration)
    assert "a tie verdict counts as disagreement" in format_result(result)


def test_ordinal_routing_uses_majority_and_median(tmp_path: Path) -> None:
    result = run_backtest(load_dataset(write_set(tmp_path, "toy-ordinal", pointwise_records())))
    by_agg = {a.aggregation: a for a in result.routing if not a.default}
    assert list(by_agg) == ["majority", "median"]
    r = rows(result)
    for name, analysis in by_agg.items():
        assert analysis.agreement == pytest.approx(r[name].accuracy)  # exact agreement
        assert analysis.curve[0].auto_agreement == pytest.approx(analysis.agreement)
    assert "exact agreement with the human median" in format_result(result)


def test_routing_curve_thins_to_quantiles_and_printed_rows() -> None:
    rng = np.random.default_rng(0)
    conf = rng.uniform(size=500)
    agree = rng.uniform(size=500) < conf
    curve = routing_curve(conf, agree)
    assert 2 <= len(curve) <= 20 and curve[0].to_humans == 0.0
    assert [p.threshold for p in curve] == sorted(p.threshold for p in curve)
    assert curve[-1].auto_agreement >= curve[0].auto_agreement
    printed = curve_rows(curve)
    assert printed[0] == curve[0] and 5 <= len(printed) <= 9
    assert all(p.n_auto >= 10 for p in printed)
    assert routing_curve([], []) == ()


def test_routing_without_human_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [
        {
            "item": str(i),
            "mode": "pointwise",
            "scale": [False, True],
            "votes": [bool_vote("a", True), bool_vote("b", i % 2 == 0)],
            "human": [],
        }
        for i in range(4)
    ]
    folder = write_set(tmp_path, "unlabelled", records)
    (routing,) = [a for a in run_backtest(load_dataset(folder)).routing if not a.default]
    assert (routing.n_items, routing.curve, routing.calibration) == (0, (), ())
    assert routing.calibration_skipped is not None
    assert main(["backtest", str(folder), "--plot", str(tmp_path / "p.png")]) == 0
    assert "calibration skipped" in capsys.readouterr().out
