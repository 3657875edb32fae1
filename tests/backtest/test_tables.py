"""The backtest's tables (`backtest.markdown`, `backtest.report`) on sets a probe found
them wrong on: judges named like panels, a sparse judge as the best one, no human
reference, names with pipes and control characters, an alpha given twice, a negative
zero, and a kappa over one item."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from backtest.datasets import load_dataset
from backtest.markdown import render
from backtest.replay import run_backtest
from backtest.report import format_result
from backtest.results import DatasetResult, Row
from backtest.routing_curve import RoutingSettings
from tests.support.records import bool_vote, write_set

FAST = RoutingSettings(splits=2)


def _run(
    tmp_path: Path, records: list[dict[str, Any]], routing: RoutingSettings = FAST
) -> DatasetResult:
    ds = load_dataset(write_set(tmp_path, "set", records))
    return run_backtest(ds, labels=20, dependence_cv=False, routing=routing)


def _bool_records(
    judges: dict[str, Any], n: int = 30, labelled: int | None = None
) -> list[dict[str, Any]]:
    """Items whose truth is `i % 2 == 1`; `judges` maps a name to f(i, truth) -> vote or
    None (no vote); the first `labelled` items (default all) carry the truth as label."""
    records = []
    for i in range(n):
        truth = i % 2 == 1
        votes = [bool_vote(j, v) for j, f in judges.items() if (v := f(i, truth)) is not None]
        human = [truth] if labelled is None or i < labelled else []
        records.append(
            {"item": f"b{i}", "mode": "pointwise", "scale": [False, True], "votes": votes}
            | {"human": human}
        )
    return records


def _accuracy_row(text: str, dataset: str = "set") -> list[str]:
    """The cells of `dataset`'s row in the markdown accuracy table."""
    line = next(line for line in text.splitlines() if line.startswith(f"| {dataset} | "))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def _row(r: DatasetResult, kind: str, name: str) -> Row:
    return next(row for row in r.rows if row.kind == kind and row.name == name)


def test_a_judge_named_like_a_panel_does_not_shadow_the_panel(tmp_path: Path) -> None:
    # Judges "majority" (always wrong) and "plurality of raw votes" (always true): the
    # panels of all five judges are right on every item, those two judges are not.
    judges = {
        "majority": lambda i, t: not t,
        "weighted": lambda i, t: t,
        "plurality of raw votes": lambda i, t: True,
        "x": lambda i, t: t,
        "y": lambda i, t: t,
    }
    r = _run(tmp_path, _bool_records(judges))
    panel, judge = _row(r, "panel", "majority"), _row(r, "judge", "majority")
    plural = _row(r, "panel", "plurality of raw votes")
    assert (panel.accuracy, judge.accuracy, plural.accuracy) == (1.0, 0.0, 1.0)
    cells = _accuracy_row(render([r], "c"))
    assert cells[3].startswith("1.000 (")  # naive plurality: the panel, not the judge (0.500)
    assert cells[5] == "1.000"  # majority: the panel, not the judge (0.000)
    assert cells[8] == ">= plurality 1.000"


def test_the_best_judge_needs_a_verdict_on_half_the_referenced_items(tmp_path: Path) -> None:
    # A graded scale: "sparse" is right on the 3 items it judged (kappa 1), "broad" judges
    # all 30, one point off on every third. Old: sparse was best and set kappa >= 1.000.
    records = []
    for i in range(30):
        ref = 1 + i % 5
        votes = [{"judge": "broad", "value": ref if i % 3 else min(5, ref + 1)}]
        if i < 3:
            votes.append({"judge": "sparse", "value": ref})
        records.append(
            {"item": f"g{i}", "mode": "pointwise", "scale": [1, 2, 3, 4, 5], "human": [ref]}
            | {"votes": [{"order": None, "unscored": None, **v} for v in votes]}
        )
    r = _run(tmp_path, records)
    assert r.kappa_weights == "quadratic"
    broad = _row(r, "judge", "broad")
    assert broad.kappa is not None and broad.kappa.value < 1.0
    text = render([r], "c")
    cells = _accuracy_row(text)
    assert cells[4].startswith("broad: ")
    assert f"kappa >= {broad.kappa.value:.3f}" in cells[8]
    assert "at least 50% of the items with a human reference, or among all judges" in text


def test_no_human_reference_gives_no_target_and_no_verdict(tmp_path: Path) -> None:
    judges = {"a": lambda i, t: t, "b": lambda i, t: not t, "c": lambda i, t: True}
    r = _run(tmp_path, _bool_records(judges, labelled=0))
    assert r.n_referenced == 0
    cells = _accuracy_row(render([r], "c"))
    assert cells[4] == "–"  # best single judge
    assert cells[-2:] == ["–", "–"]  # target, met? (was "", "yes")


def test_names_are_escaped_in_markdown_and_printed_safely(tmp_path: Path) -> None:
    long = "L" * 3000
    judges = {
        "a|b": lambda i, t: t,
        "c\nd\te": lambda i, t: not t,
        "\u202eevil": lambda i, t: True,
        long: lambda i, t: t,
    }
    records = [{**rec, "dataset": "pipe|set\nx"} for rec in _bool_records(judges)]
    r = _run(tmp_path, records)
    text = render([r], "c")
    assert _accuracy_row(text, "pipe\\|set x")[4].startswith("a\\|b: ")
    # Each table keeps its shape: every line has its header's count of unescaped pipes.
    tables: list[list[int]] = [[]]
    for line in text.splitlines():
        if line.startswith("|"):
            tables[-1].append(re.sub(r"\\.", "", line).count("|"))
        elif tables[-1]:
            tables.append([])
    assert len(tables) > 3 and all(len(set(t)) <= 1 for t in tables)
    assert "\u202e" not in text
    printed = format_result(r)
    assert printed.startswith("== pipe|set\\nx: pointwise")
    assert "  c\\nd\\te " in printed and "\\u202eevil" in printed and "\u202e" not in printed
    assert long not in printed and "LLL…LLL" in printed
    assert max(len(line) for line in printed.splitlines()) < 200
    assert long in r.judges  # the result (and the JSON) keep the whole name


def test_an_alpha_given_twice_gives_one_column(tmp_path: Path) -> None:
    judges = {"a": lambda i, t: t, "b": lambda i, t: t if i % 4 else not t, "c": lambda i, t: t}
    r = _run(tmp_path, _bool_records(judges, n=40), RoutingSettings(alphas=(0.1, 0.1), splits=2))
    text = render([r], "c")
    assert text.count("alpha 0.1: certified, coverage, exceeded") == 1
    row = next(line for line in text.splitlines() if line.startswith("| set | ") and "/2" in line)
    assert row.count("/2, ") == 1
    calibrated = [a for a in r.routing if a.calibration and not a.calibration_skipped]
    assert calibrated and all(len(a.calibration) == 2 for a in calibrated)  # both kept
    assert format_result(r).count("  alpha 0.1 over 2 splits") == len(calibrated)


def test_a_kappa_that_rounds_to_zero_is_not_negative(tmp_path: Path) -> None:
    judges = {"a": lambda i, t: t, "b": lambda i, t: not t, "c": lambda i, t: t}
    r = _run(tmp_path, _bool_records(judges))
    rows = []
    for row in r.rows:
        if row.kappa is not None:
            kappa = row.kappa.model_copy(update={"value": -0.0, "ci_low": -1e-9, "ci_high": 0.0})
            row = row.model_copy(update={"kappa": kappa})
        rows.append(row)
    r = r.model_copy(update={"rows": tuple(rows)})
    printed, text = format_result(r), render([r], "c")
    assert "-0.000" not in printed and "-0.000" not in text
    assert " 0.000  [0.000, 0.000]" in printed
    assert "(0.000)" in _accuracy_row(text)[2]


def test_a_kappa_over_few_items_shows_its_count(tmp_path: Path) -> None:
    judges = {"a": lambda i, t: t, "b": lambda i, t: t if i % 3 else not t, "c": lambda i, t: t}
    r = _run(tmp_path, _bool_records(judges, labelled=1))
    assert _row(r, "judge", "a").kappa is not None
    printed = format_result(r)
    a_line = next(line for line in printed.splitlines() if line.startswith("  a "))
    assert a_line.endswith("1.0  (kappa n=1)")
    assert "(kappa n=N): over fewer than 10 items" in printed
    cells = _accuracy_row(render([r], "c"))
    assert cells[2].endswith(", n=1)**")  # the default row
    assert "n=1)" in cells[4]  # the best judge
