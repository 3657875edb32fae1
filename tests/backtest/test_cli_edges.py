"""`quorum backtest` on inputs a probe of unusual datasets found it failing on: a
checklist set (a traceback), a set with no usable vote (a traceback), --json and
--markdown on one file (a traceback after the run), figures of several sets (a name with
a slash, two sets of one name), more folds than items, an alpha given twice."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from api.cli import main
from backtest.cli import settings_from
from backtest.datasets import load_dataset
from backtest.plots import plot_paths
from backtest.replay import PROGRESS_MIN_ITEMS, run_backtest
from routing import Aggregation
from routing.aggregate import allowed
from rubrics import Mode
from tests.support.records import MIRROR, pointwise_records, pv, write_set

QUESTIONS = [
    {"id": "polite", "text": "Is it polite?", "required": True, "na": False},
    {"id": "correct", "text": "Is it correct?", "required": True, "na": False},
]


def checklist_records(n: int = 40) -> list[dict[str, Any]]:
    """Three judges answering two required questions; the truth passes on odd items."""
    records = []
    for i in range(n):
        truth = "yes" if i % 2 else "no"
        votes = []
        for j, judge in enumerate(("a", "b", "c")):
            said = truth if (i + j) % 5 else ("no" if truth == "yes" else "yes")
            value = "pass" if said == "yes" else "fail"
            order = ["polite", "correct"] if (i + j) % 2 else ["correct", "polite"]
            votes.append(
                {
                    "judge": judge,
                    "value": value,
                    "answers": {"polite": "yes", "correct": said},
                    "question_order": order,
                }
            )
        human = ["pass" if truth == "yes" else "fail"]
        records.append(
            {
                "item": f"c{i}",
                "mode": "checklist",
                "scale": ["fail", "pass"],
                "questions": QUESTIONS,
                "votes": votes,
                "human": human,
            }
        )
    return records


def test_a_checklist_set_is_replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It raised "a checklist aggregates by majority or weighted vote" from the median
    panel, which `allowed` let through on the two-value ordinal scale."""
    folder = write_set(tmp_path, "checks", checklist_records())
    out = tmp_path / "r.json"
    assert main(["backtest", str(folder), "--json", str(out), "--no-dependence-cv"]) == 0
    printed = capsys.readouterr().out
    assert "== checks: checklist" in printed and "\n  median " not in printed
    [result] = json.loads(out.read_text())["results"]
    rows = {row["name"]: row for row in result["rows"]}
    assert "majority" in rows and "median" not in rows
    # At most one of the three is wrong on any item: the majority is always right.
    assert rows["majority"]["accuracy"] == 1.0 and rows["a"]["accuracy"] == pytest.approx(0.8)


def test_a_checklist_panel_counts_votes_only(tmp_path: Path) -> None:
    rubric = load_dataset(write_set(tmp_path, "checks", checklist_records(2))).rubric
    assert rubric.mode is Mode.CHECKLIST
    assert allowed(rubric, Aggregation.MAJORITY) is None
    assert allowed(rubric, Aggregation.WEIGHTED) is None
    for other in (Aggregation.MEDIAN, Aggregation.MEAN, Aggregation.JURY):
        assert allowed(rubric, other) == (
            "a checklist aggregates each question by majority or weighted vote"
        )


@pytest.mark.parametrize("votes", ["unscored", "none"])
def test_a_set_with_no_usable_vote_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], votes: str
) -> None:
    """Every vote unscored was numpy's "zero-size array" traceback from the jury's fit;
    no votes at all, "need at least 1 raters" from Fleiss' kappa."""
    records = pointwise_records()
    for r in records:
        r["votes"] = (
            [{**v, "value": None, "unscored": "refused"} for v in r["votes"]]
            if votes == "unscored"
            else []
        )
    folder = write_set(tmp_path, "dead", records)
    assert main(["backtest", str(folder)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"quorum backtest: {folder}: no usable vote (every vote is unscored, or there are "
        "none): nothing to replay"
    )


def test_json_and_markdown_on_one_file_are_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_set(tmp_path, "p", pointwise_records())
    same = tmp_path / "out.txt"
    assert main(["backtest", str(folder), "--json", str(same), "--markdown", str(same)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"quorum backtest: --json and --markdown name the same file {same}"
    assert not same.exists()


def test_figures_of_several_sets_get_safe_distinct_names(tmp_path: Path) -> None:
    sets = [SimpleNamespace(dataset=d) for d in ("team/set one", "set-a", "set-a", "SET-A", "..")]
    names = [p.name for p in plot_paths(tmp_path / "plots.png", sets)]  # type: ignore[arg-type]
    assert names == [
        "plots-team_set_one.png",
        "plots-set-a.png",
        "plots-set-a-2.png",
        "plots-SET-A-3.png",  # not another plots-set-a.png on a case-insensitive disk
        "plots-dataset.png",
    ]
    assert plot_paths(tmp_path / "one.png", sets[:1]) == [tmp_path / "one.png"]  # type: ignore[arg-type]


def test_more_folds_than_items_fit_one_item_per_fold(tmp_path: Path) -> None:
    dataset = load_dataset(write_set(tmp_path, "small", pointwise_records()[:12]))
    result = run_backtest(dataset, folds=50, progress=False, dependence_cv=False)
    assert result.folds == 12


def test_an_alpha_given_twice_counts_once() -> None:
    args = argparse.Namespace(alpha=[0.1, 0.2, 0.1], delta=0.1, splits=5)
    settings = settings_from(args)
    assert not isinstance(settings, str) and settings.alphas == (0.1, 0.2)


def test_a_judge_asked_only_the_other_way_round_has_one_single_order_row(
    tmp_path: Path,
) -> None:
    """A judge with BA votes only had an empty "(single order)" row and its one vote
    under "(both orders)"."""
    records = []
    for i in range(30):
        gold = "A" if i % 3 else "B"
        votes = [pv("late", "BA", MIRROR[gold]), pv("both", "AB", gold), pv("both", "BA", gold)]
        records.append(
            {
                "item": str(i),
                "mode": "pairwise",
                "scale": ["A", "B", "tie"],
                "votes": votes,
                "human": [gold],
            }
        )
    result = run_backtest(
        load_dataset(write_set(tmp_path, "ba", records)), progress=False, dependence_cv=False
    )
    rows = {row.name: row for row in result.rows if row.kind == "judge"}
    assert set(rows) == {"late (single order)", "both (single order)", "both (both orders)"}
    late = rows["late (single order)"]
    assert (late.coverage, late.accuracy, late.calls_per_item) == (1.0, 1.0, 1.0)


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Redirected, the bar was a stream of carriage-return lines in the log."""
    records = [dict(r, item=f"{k}-{r['item']}") for k in range(20) for r in pointwise_records()]
    assert len(records) > PROGRESS_MIN_ITEMS
    run_backtest(load_dataset(write_set(tmp_path, "big", records)), dependence_cv=False)
    assert "\r" not in capsys.readouterr().err


def test_the_fleiss_line_says_why_it_is_missing(tmp_path: Path) -> None:
    from backtest.report import format_result

    records = pointwise_records()
    for i, r in enumerate(records):  # every item lacks one judge's vote
        r["votes"] = [v for k, v in enumerate(r["votes"]) if k != i % len(r["votes"])]
    result = run_backtest(
        load_dataset(write_set(tmp_path, "gaps", records)), progress=False, dependence_cv=False
    )
    assert result.fleiss_kappa is None
    assert "  Fleiss' kappa –: no item has a usable vote of every judge" in format_result(result)


def test_a_warning_repeated_by_every_fold_is_shown_once(tmp_path: Path) -> None:
    """The weighted row's folds share one Dawid-Skene fit: its "did not converge" came
    once per fold and once more for the whole set (six identical lines)."""
    import logging

    from backtest.cli import _OnceEach

    once = _OnceEach()
    log = logging.getLogger("routing.reliability")
    records = [log.makeRecord(log.name, logging.WARNING, "f", 1, msg, (), None) for msg in "aab"]
    assert [once.filter(r) for r in records] == [True, False, True]
    folder = write_set(tmp_path, "p", pointwise_records())
    assert main(["backtest", str(folder), "--no-dependence-cv"]) == 0
    assert log.filters == []  # per run, so a later run in this process still warns
