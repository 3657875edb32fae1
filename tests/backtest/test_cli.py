"""`quorum backtest`: one-line errors, the JSON and plots, and a run on a recorded set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from tests.support.records import (
    GOOD,
    REPO,
    SHARED_DATA,
    pairwise_records,
    pointwise_records,
    write_set,
)


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
    assert main(["backtest", str(good), "--alpha", "1e-12"]) == 2  # was a crash mid-run
    assert "--alpha: alpha 1e-12 cannot be certified" in capsys.readouterr().err
    assert main(["backtest", str(good), "--splits", "0"]) == 2
    assert "--splits" in capsys.readouterr().err


def test_outputs_that_cannot_be_written_are_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked first, so a long run never ends unable to write; and a Markdown file with
    prose of its own but no generated-section lines is never overwritten."""
    good = tmp_path / "good.jsonl"
    good.write_text(GOOD + "\n")
    notes = tmp_path / "notes.md"
    notes.write_text("# My notes\n\nwritten by hand\n")
    cases = [
        (["--markdown", str(notes)], "has no generated-section lines"),
        (["--json", str(tmp_path / "nowhere" / "r.json")], "no such directory"),
        (["--json", str(tmp_path)], "is a directory"),
        (["--plot", str(tmp_path / "nowhere" / "p.png")], "no such directory"),
        (["--seed", "-1"], "--seed >= 0"),
    ]
    for extra, words in cases:
        assert main(["backtest", str(good), *extra]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err, err
    assert notes.read_text() == "# My notes\n\nwritten by hand\n"
    assert not list(tmp_path.glob(".*.partial"))


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
        "--min-human 30 --labels 100 --audit-rate 0.1 --dependence 0 --select scale "
        "--alpha 0.1 --alpha 0.2 --delta 0.2 --splits 3"
    )
    for result in report["results"]:
        assert [a["aggregation"] for a in result["routing"]] == (
            ["jury", "majority", "median"]
            if result["dataset"] == "toy-ordinal"
            else ["jury", "majority"]
        )
        assert result["routing"][0]["default"]
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
    (routing,) = [a for a in result["routing"] if not a["default"]]
    assert (routing["aggregation"], routing["n_items"]) == ("majority", 100)
    assert routing["agreement"] == pytest.approx(by_name["majority"]["accuracy"])
    shares = [p["to_humans"] for p in routing["curve"]]
    assert shares == sorted(shares) and shares[0] == 0.0
    assert [c["alpha"] for c in routing["calibration"]] == [0.05, 0.1, 0.2]
    assert all(c["repeats"]["n_splits"] == 20 for c in routing["calibration"])
    assert "routing on the majority panel's confidence" in done.stdout
    assert "held-out half" in done.stdout
