"""`quorum backtest`: the loader, the replay on synthetic sets with known answers, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from api.cli import main
from backtest.datasets import DatasetError, load_dataset
from backtest.replay import human_reference, run_backtest
from backtest.report import curve_rows, format_result
from backtest.results import DatasetResult, Row
from backtest.routing_curve import RoutingSettings, routing_curve
from backtest.strategies import STRATEGIES
from judges import CallErrorKind
from routing.calibration import apply_split
from rubrics import Rubric, Unscored

REPO = Path(__file__).parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
MIRROR = {"A": "B", "B": "A", "tie": "tie"}
WAVES = [replay.name for replay in STRATEGIES]
"""The sequential and cascade rows, after the panels of all judges."""


def write_set(root: Path, name: str, records: list[dict[str, Any]]) -> Path:
    """A dataset directory <root>/<name>/votes.jsonl."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"dataset": name, "label_kind": "gold", **r}) for r in records]
    (folder / "votes.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def pv(judge: str, order: str, shown: str | None, unscored: str | None = None) -> dict[str, Any]:
    """A recorded pairwise vote, given as shown; stored in the canonical frame."""
    value = None if shown is None else (MIRROR[shown] if order == "BA" else shown)
    return {"judge": judge, "order": order, "value": value, "unscored": unscored}


def pairwise_records() -> list[dict[str, Any]]:
    """40 labelled items (A on 2 of 3), 2 with tied humans, 1 unlabelled.

    oracle: always the human label; echo: the same, but its BA call failed on 5 items;
    first: always picks the response shown first (so both orders disagree, every time).
    """
    records = []
    for i in range(43):
        gold = "A" if i % 3 else "B"
        human: list[str] = [gold] if i < 40 else (["A", "B"] if i < 42 else [])
        echo_ba = (
            pv("echo", "BA", None, "empty completion") if i < 5 else pv("echo", "BA", MIRROR[gold])
        )
        votes = [
            pv("oracle", "AB", gold),
            pv("oracle", "BA", MIRROR[gold]),
            pv("echo", "AB", gold),
            echo_ba,
            pv("first", "AB", "A"),
            pv("first", "BA", "A"),
        ]
        records.append(
            {
                "item": f"p{i:02d}",
                "mode": "pairwise",
                "scale": ["A", "B", "tie"],
                "votes": votes,
                "human": human,
            }
        )
    return records


def rows(result: DatasetResult) -> dict[str, Row]:
    return {row.name: row for row in result.rows}


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
    assert list(r) == [
        "oracle (single order)",
        "oracle (both orders)",
        "echo (single order)",
        "echo (both orders)",
        "first (single order)",
        "first (both orders)",
        "majority",
        "weighted",
        "dawid-skene",
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


def pointwise_records() -> list[dict[str, Any]]:
    """1..5 scale; humans give 3 labels (2 on every fifth item, to exercise half-up)."""
    records = []
    for i in range(30):
        labels = [1 + i % 5, 1 + (i + 1) % 5, 1 + i % 5] if i % 5 else [2, 3]
        ref = 3 if i % 5 == 0 else 1 + i % 5  # median; [2, 3] rounds half up to 3
        votes = [
            {"judge": "sharp", "order": None, "value": ref, "unscored": None},
            {"judge": "low", "order": None, "value": max(1, ref - 1), "unscored": None},
            {"judge": "lazy", "order": None, "value": None if i < 3 else 3, "unscored": "mean < 1"},
        ]
        if i >= 3:
            votes[2]["unscored"] = None
        records.append(
            {
                "item": f"s{i}",
                "mode": "pointwise",
                "scale": [1, 2, 3, 4, 5],
                "votes": votes,
                "human": labels,
            }
        )
    return records


def test_pointwise_ordinal_known_answers(tmp_path: Path) -> None:
    result = run_backtest(load_dataset(write_set(tmp_path, "toy-ordinal", pointwise_records())))
    assert (result.n_referenced, result.kappa_weights) == (30, "quadratic")
    r = rows(result)
    assert list(r) == [
        "sharp",
        "low",
        "lazy",
        "majority",
        "median",
        "mean",
        "weighted",
        "dawid-skene",
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
    assert [row.name for row in result.rows] == [
        "a",
        "b",
        "majority",
        "median",
        "weighted",
        "dawid-skene",
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


GOOD = (
    '{"dataset": "d", "item": "1", "mode": "pointwise", "scale": [1, 2], "votes": [], "human": [1]}'
)


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


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "bad.jsonl"
    file.write_text("[1]\n")
    assert main(["backtest", str(file)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"quorum backtest: {file}:1: expected a JSON object, got list"
    )
    assert main(["backtest", str(tmp_path / "absent")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["backtest"]) == 2
    good = tmp_path / "good.jsonl"
    good.write_text(GOOD + "\n")
    assert main(["backtest", str(good), "--alpha", "1.5"]) == 2
    assert "--alpha and --delta" in capsys.readouterr().err
    assert main(["backtest", str(good), "--splits", "0"]) == 2
    assert "--splits" in capsys.readouterr().err


def test_cli_all_writes_json_and_one_plot_per_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "sets"
    write_set(root, "toy-pair", pairwise_records())
    write_set(root, "toy-ordinal", pointwise_records())
    out = tmp_path / "out.json"
    assert (
        main(
            [
                "backtest",
                "--all",
                str(root),
                "--json",
                str(out),
                "--plot",
                str(tmp_path / "p.png"),
                "--folds",
                "3",
                "--alpha",
                "0.1",
                "--alpha",
                "0.2",
                "--delta",
                "0.2",
                "--splits",
                "3",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "cross-fitted over 3 folds" in printed and "== toy-ordinal" in printed
    report = json.loads(out.read_text())
    assert [r["dataset"] for r in report["results"]] == ["toy-ordinal", "toy-pair"]
    plot = tmp_path / "p.png"
    assert report["command"] == (
        f"quorum backtest --all {root} --json {out} --plot {plot} --folds 3 --seed 0 "
        "--min-human 30 --alpha 0.1 --alpha 0.2 --delta 0.2 --splits 3"
    )
    for result in report["results"]:
        assert [a["aggregation"] for a in result["routing"]] == (
            ["majority", "median"] if result["dataset"] == "toy-ordinal" else ["majority"]
        )
        for analysis in result["routing"]:
            assert analysis["curve"] and analysis["curve"][0]["to_humans"] == 0.0
            checks = analysis["calibration"]
            assert [(c["alpha"], c["delta"], c["repeats"]["n_splits"]) for c in checks] == [
                (0.1, 0.2, 3),
                (0.2, 0.2, 3),
            ]
            assert {"threshold", "certified", "coverage"} <= set(checks[0]["split"]["calibration"])
            assert {"coverage", "risk"} <= set(checks[0]["split"]["held_out"])
    assert "routing on the median panel's confidence" in printed
    for name in ("toy-ordinal", "toy-pair"):
        assert (tmp_path / f"p-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def count_single_order_accuracy(file: Path, judge: str) -> tuple[int, int]:
    """Independent count from the JSONL: items where the judge's AB vote equals the label."""
    hits = total = 0
    for line in file.read_text().splitlines():
        record = json.loads(line)
        (label,) = record["human"]
        (ab,) = [v for v in record["votes"] if v["judge"] == judge and v["order"] == "AB"]
        hits += ab["value"] == label
        total += 1
    return hits, total


@pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} (the recorded datasets) is absent"
)
def test_cli_on_llmbar_natural(tmp_path: Path) -> None:
    data = SHARED_DATA / "llmbar-natural"
    cmd = [
        sys.executable,
        "-m",
        "api.cli",
        "backtest",
        str(data),
        "--json",
        "out.json",
        "--plot",
        "out.png",
    ]
    done = subprocess.run(
        cmd,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert "== llmbar-natural" in done.stdout and "position bias" in done.stdout
    assert (tmp_path / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (result,) = json.loads((tmp_path / "out.json").read_text())["results"]
    assert (result["dataset"], result["n_items"], result["n_referenced"]) == (
        "llmbar-natural",
        100,
        100,
    )
    assert len(result["judges"]) == 6 and len(result["position"]) == 6
    by_name = {row["name"]: row for row in result["rows"]}
    assert {"majority", "weighted", "dawid-skene", "GPT-4 (both orders)"} <= set(by_name)
    # Stopping early never changes a majority verdict; here it saves calls.
    assert by_name["sequential"]["accuracy"] == by_name["majority"]["accuracy"]
    assert by_name["sequential"]["calls_per_item"] < by_name["majority"]["calls_per_item"] == 12
    hits, total = count_single_order_accuracy(data / "votes.jsonl", "GPT-4")
    assert total == 100
    assert by_name["GPT-4 (single order)"]["accuracy"] == pytest.approx(hits / total)
    assert -1 <= by_name["GPT-4 (single order)"]["kappa"]["value"] <= 1
    assert result["fleiss_kappa"]["method"] == "fleiss_kappa"
    (routing,) = result["routing"]
    assert (routing["aggregation"], routing["n_items"]) == ("majority", 100)
    assert routing["agreement"] == pytest.approx(by_name["majority"]["accuracy"])
    shares = [p["to_humans"] for p in routing["curve"]]
    assert shares == sorted(shares) and shares[0] == 0.0
    assert [c["alpha"] for c in routing["calibration"]] == [0.05, 0.1, 0.2]
    assert all(c["repeats"]["n_splits"] == 20 for c in routing["calibration"])
    assert "routing on the majority panel's confidence" in done.stdout
    assert "held-out half" in done.stdout


def bool_vote(judge: str, value: bool) -> dict[str, Any]:
    return {"judge": judge, "order": None, "value": value, "unscored": None}


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
    (routing,) = result.routing
    assert (routing.aggregation, routing.n_items) == ("majority", 300)
    assert routing.agreement == pytest.approx(250 / 300) == rows(result)["majority"].accuracy
    # The curve: one point per distinct confidence, ascending; agreement rises with it.
    got = [(p.threshold, p.to_humans, p.n_auto, p.auto_agreement) for p in routing.curve]
    expected = [(4 / 7, 0, 300, 250 / 300), (5 / 7, 80 / 300, 220, 210 / 220), (6 / 7, 0.5, 150, 1)]
    np.testing.assert_allclose(np.array(got), np.array(expected))
    assert routing.curve[-1].auto_agreement >= routing.curve[0].auto_agreement
    # Calibration: exactly routing.calibration.apply_split on the same numbers.
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
    (routing,) = result.routing
    (point,) = routing.curve  # every item has confidence 3/4: two of two agree
    assert (point.threshold, point.n_auto, point.auto_agreement) == (0.75, 40, 0.75)
    assert routing.agreement == 0.75 == rows(result)["majority"].accuracy
    assert all(c.repeats is None for c in routing.calibration)
    assert "a tie verdict counts as disagreement" in format_result(result)


def test_ordinal_routing_uses_majority_and_median(tmp_path: Path) -> None:
    result = run_backtest(load_dataset(write_set(tmp_path, "toy-ordinal", pointwise_records())))
    by_agg = {a.aggregation: a for a in result.routing}
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
    (routing,) = run_backtest(load_dataset(folder)).routing
    assert (routing.n_items, routing.curve, routing.calibration) == (0, (), ())
    assert routing.calibration_skipped is not None
    assert main(["backtest", str(folder), "--plot", str(tmp_path / "p.png")]) == 0
    assert "calibration skipped" in capsys.readouterr().out
