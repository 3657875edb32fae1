"""Reporting for `quorum backtest`: the text table per dataset and the JSON file (the
plots are in `backtest.plots`)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from backtest.results import DatasetResult, Row
from backtest.routing_curve import AlphaCheck, RoutingAnalysis, RoutingPoint
from backtest.text import FEW_ITEMS, UNPRINTABLE, fixed
from routing import AgreementEstimate
from rubrics import value_key

__all__ = [
    "MIN_PRINTED_AUTO",
    "NAME_WIDTH",
    "ROUTING_ROWS",
    "BacktestReport",
    "curve_rows",
    "format_result",
    "write_json",
]


class BacktestReport(BaseModel):
    """The `--json` file: when and how the backtest ran, and each dataset's results."""

    model_config = ConfigDict(frozen=True)

    generated: str
    """UTC time of the run, ISO 8601."""
    command: str
    results: tuple[DatasetResult, ...]


def write_json(results: Sequence[DatasetResult], out: Path, command: str) -> None:
    """Write the machine-readable results (NaN written as null)."""
    report = BacktestReport(
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        command=command,
        results=tuple(results),
    )
    out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


NAME_WIDTH = 60
"""A longer name (dataset, judge, scale value) is cut to this many characters in the
table, with an ellipsis in the middle (the JSON keeps it whole)."""


def _shown(name: object) -> str:
    """`name` as printed: control and bidi characters escaped (`\\n`, `\\u202e`), and cut
    to NAME_WIDTH keeping both ends (a judge's row suffix such as "(both orders)" stays)."""
    text = UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(name))
    if len(text) <= NAME_WIDTH:
        return text
    head = (NAME_WIDTH - 1) * 2 // 3
    return f"{text[:head]}…{text[len(text) - (NAME_WIDTH - 1 - head) :]}"


def _num(x: float | None, width: int = 6, digits: int = 3) -> str:
    if x is None or math.isnan(x):
        return "–".rjust(width)
    return fixed(x, digits).rjust(width)


def _estimate(est: AgreementEstimate | None) -> str:
    if est is None:
        return f"{'–':>6}  {'':16}"
    ci = f"[{fixed(est.ci_low)}, {fixed(est.ci_high)}]" if not math.isnan(est.ci_low) else ""
    return f"{_num(est.value)}  {ci:16}"


def _row_line(row: Row, width: int, mark: str = "") -> str:
    n = row.kappa.n_items if row.kappa is not None else FEW_ITEMS
    return (
        f"  {_shown(row.name):<{width}} {row.n_items:6d}  {_num(row.coverage, 8)}  "
        f"{_num(row.accuracy, 8)}  {_estimate(row.kappa)}  {row.calls_per_item:10.1f}{mark}"
        + (f"  (kappa n={n})" if n < FEW_ITEMS else "")
    )


def format_result(r: DatasetResult) -> str:
    """The per-dataset table with its footnotes, agreement and position figures."""
    scale = ", ".join(_shown(value_key(v)) for v in r.scale)
    width = max(24, *(len(_shown(row.name)) for row in r.rows))
    kappa_kind = "quadratic-weighted" if r.kappa_weights == "quadratic" else "unweighted"
    lines = [
        f"== {_shown(r.dataset)}: {r.mode.value} [{scale}], {r.label_kind or 'unknown'} labels, "
        f"{len(r.judges)} judges",
        f"   {r.n_items} items; {r.n_referenced} with a human reference, "
        f"{r.n_human_ties} human ties (excluded), {r.n_unlabelled} without human labels",
        "",
        f"  {'':<{width}} {'n':>6}  {'coverage':>8}  {'accuracy':>8}  "
        f"{'kappa':>6}  {'95% CI':<16}  {'calls/item':>10}",
    ]
    judges = [row for row in r.rows if row.kind == "judge"]
    panels = [row for row in r.rows if row.kind == "panel"]
    waved = [row for row in r.rows if row.kind == "strategy"]
    lines += [_row_line(row, width) for row in judges]
    lines.append("  -- panels of all judges")
    lines += [_row_line(row, width) for row in panels]
    if waved:
        lines.append(f"  -- majority panels asking in waves (quorum {r.quorum})")
        lines += [_row_line(row, width) for row in waved]
    juried = [row for row in r.rows if row.kind == "jury"]
    if juried:
        lines.append("  -- the jury model (routing.jury; * = the default configuration)")
        lines += [_row_line(row, width, " *" if row.default else "") for row in juried]
    lines.append("")
    covered = "a verdict other than tie" if r.mode.value == "pairwise" else "a verdict"
    notes = [
        f"coverage: share of all items with {covered}.",
        f"accuracy: share of the {r.n_referenced} referenced items whose verdict equals the "
        "human reference (majority of labels; ordinal: median, half rounded up); "
        "no verdict counts as wrong"
        + (
            ", and so does a tie (forced choice: humans never chose tie)."
            if r.forced_choice
            else "."
        ),
        f"kappa: Cohen's kappa ({kappa_kind}) vs the human reference over items with both, "
        "95% Wald CI"
        + (
            f"; (kappa n=N): over fewer than {FEW_ITEMS} items, too few to read."
            if any(row.kappa is not None and row.kappa.n_items < FEW_ITEMS for row in r.rows)
            else "."
        ),
    ]
    if r.mode.value == "pairwise":
        notes.append(
            "single order: the judge's AB vote alone; both orders: reconciled "
            "(consistent verdict kept, inconsistent -> tie); panels use reconciled verdicts."
        )
        if any(row.name.endswith(" (orders averaged)") for row in judges):
            notes.append(
                "orders averaged: the judge's recorded vote already combines both orders "
                "(order null in the file), used as it is."
            )
    sources = sorted({s for counts in r.weight_sources.values() for s in counts})
    tally = ", ".join(f"{s} {sum(c.get(s, 0) for c in r.weight_sources.values())}" for s in sources)
    notes.append(
        f"weighted: log-odds reliability weights, cross-fitted over {r.folds} folds (seed "
        f"{r.seed}): an item's weights come only from the human labels of the other folds "
        f"(judges with >= {r.min_human} labelled items there), else from Dawid-Skene "
        f"accuracy; judge-fold sources: {tally}."
    )
    if r.dawid_skene_iterations is not None:
        notes.append(
            "dawid-skene: posterior argmax of an unsupervised Dawid-Skene fit to the "
            f"judges' verdicts (no human label used; {r.dawid_skene_iterations} EM "
            f"iterations, {'converged' if r.dawid_skene_converged else 'NOT converged'})"
            + (
                "; with two judges the model is not identifiable, so read it as illustrative."
                if len(r.judges) < 3
                else "."
            )
        )
    if r.weights_dawid_skene_converged is not None:
        notes.append(
            "weighted: the Dawid-Skene fits behind its fallback weights "
            + ("converged." if r.weights_dawid_skene_converged else "did NOT all converge.")
        )
    if r.jury is not None:
        notes.append(_jury_note(r))
    if waved:
        notes.append(
            "waves: the judges in the order above, cut into waves of the quorum ("
            f"{r.quorum}) or of 1 where stated; after each wave sequential stops once the "
            "judges not yet asked cannot change the majority's verdict (so its verdict is "
            "the majority's), cascade T as soon as sequential would or once the quorum is "
            "reached and the confidence is >= T; calls/item counts only the recorded votes "
            "of the judges asked."
        )
    lines += [textwrap.fill(n, 100, initial_indent="  * ", subsequent_indent="    ") for n in notes]
    lines.append("")
    if r.fleiss_kappa is not None:
        lines.append(
            f"  Fleiss' kappa {_estimate(r.fleiss_kappa).rstrip()} over "
            f"{r.fleiss_kappa.n_items} items with every judge usable (bootstrap CI)"
        )
    elif len(r.judges) >= 2:
        lines.append("  Fleiss' kappa –: no item has a usable vote of every judge")
    if r.krippendorff_alpha is not None:
        lines.append(
            f"  Krippendorff's alpha ({r.krippendorff_alpha.method.split('[')[-1].rstrip(']')}) "
            f"{_estimate(r.krippendorff_alpha).rstrip()} over {r.krippendorff_alpha.n_items} "
            "items (missing verdicts missing; bootstrap CI)"
        )
    if r.weights is not None:
        weights = ", ".join(
            f"{_shown(j)} {fixed(w, 2)} ({s})"
            for j, w, s in zip(r.weights.judges, r.weights.weights, r.weights.sources, strict=True)
        )
        text = f"weights fitted on all labels (information only): {weights}"
        lines.append(textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="    "))
    if r.position:
        lines += ["", _position_table(r)]
    for analysis in r.routing:
        lines += ["", _routing_section(r, analysis)]
    return "\n".join(lines)


def _jury_note(r: DatasetResult) -> str:
    run = r.jury
    assert run is not None
    rounds = ", ".join(str(f.iterations) for f in run.folds)
    conv = "converged" if all(f.converged for f in run.folds) else "NOT all converged"
    threshold = (
        "nothing certified, so the exact rule alone"
        if run.cascade_threshold is None
        else f"{run.cascade_threshold:.6g}"
    )
    return (
        f"jury: Dawid-Skene per judge and order with priors (routing.jury), fitted per fold on "
        f"every item's votes and at most {run.labels} human labels of other folds (EM rounds "
        f"{rounds}; {conv}); classes {', '.join(_shown(c) for c in run.classes)}; its confidence "
        f"is the posterior probability of the verdict. production labels: only the other "
        f"folds' items the unsupervised jury routes to humans (confidence < "
        f"{run.routing_floor:g}) or a {run.audit_rate:g} audit draws, capped at {run.labels}. "
        f"cascade: one judge (every presentation) per wave in the order above, stopping when "
        f"the judges left cannot change the verdict, or (second row) when the posterior "
        f"reaches the threshold calibrated at alpha {run.cascade_alpha:g} on the first "
        f"split's calibration half ({threshold})."
    )


ROUTING_ROWS = 9
"""Rows of the routing curve printed per panel (the JSON has every point)."""
MIN_PRINTED_AUTO = 10
"""Curve points with fewer auto-decided items are left out of the table (JSON only)."""


def curve_rows(curve: Sequence[RoutingPoint], rows: int = ROUTING_ROWS) -> list[RoutingPoint]:
    """About `rows` points spread evenly over the share sent to humans, both ends kept, of
    those with at least MIN_PRINTED_AUTO auto-decided items (all points if none has)."""
    curve = [p for p in curve if p.n_auto >= MIN_PRINTED_AUTO] or list(curve)
    if len(curve) <= rows + 1:
        return list(curve)
    top = curve[-1].to_humans
    picked = {0, len(curve) - 1}
    for step in range(1, rows - 1):
        target = top * step / (rows - 1)
        picked.add(min(range(len(curve)), key=lambda i: abs(curve[i].to_humans - target)))
    return [curve[i] for i in sorted(picked)]


def _agreement_note(r: DatasetResult) -> str:
    if r.mode.value == "pairwise":
        return (
            "a tie verdict counts as disagreement (forced choice: humans never chose tie)"
            if r.forced_choice
            else "a tie verdict agrees only with a human tie"
        )
    if r.kappa_weights == "quadratic":
        return "agreement is exact agreement with the human median: one scale point off disagrees"
    return "agreement is equality with the human reference"


def _wrap(text: str, indent: str = "  ", more: str = "    ") -> str:
    return textwrap.fill(text, 100, initial_indent=indent, subsequent_indent=more)


def _routing_section(r: DatasetResult, a: RoutingAnalysis) -> str:
    """The routing curve and the calibrated thresholds of one panel (each alpha once)."""
    by_alpha: dict[float, AlphaCheck] = {}
    for check in a.calibration:
        by_alpha.setdefault(check.alpha, check)
    checks = list(by_alpha.values())
    lines = [
        _wrap(
            f"routing on the {a.aggregation} panel's confidence: {a.n_items} items with a human "
            f"reference, {a.n_distinct_confidences} distinct confidences, agreement "
            f"{_num(a.agreement, 0)} when all are auto-decided"
        ),
        f"    {'threshold':>9}  {'to humans':>9}  {'auto-decided':>12}  {'auto agreement':>14}",
    ]
    lines += [
        f"    {p.threshold:9.3f}  {p.to_humans:9.3f}  {p.n_auto:12d}  {p.auto_agreement:14.3f}"
        for p in curve_rows(a.curve)
    ]
    if a.calibration_skipped:
        lines.append(f"    calibration skipped: {a.calibration_skipped}")
    elif checks:
        first = checks[0]
        cal, held = first.split.calibration, first.split.held_out
        lines += [
            _wrap(
                f"calibrated threshold (Trust or Escalate fixed-sequence test, delta "
                f"{first.delta:g}): calibrated on a random half of {cal.n_items} items (seed "
                f"{first.seed}), checked on the other {held.n_items}"
            ),
            f"{'':34}{'calibration half':^33}  {'held-out half':^26}".rstrip(),
            f"    {'alpha':>5}  {'threshold':>9}  {'certified':>9}   {'coverage':>8}  "
            f"{'risk':>6}  {'guarantee':<15}  {'coverage':>8}  {'risk':>6}  <= alpha",
        ]
        lines += [_alpha_line(c) for c in checks]
        lines += [
            _wrap(f"alpha {c.alpha:g} not certified: {c.not_certified_because}.", "    * ", " " * 6)
            for c in checks
            if c.not_certified_because
        ]
        lines += [_repeats_line(c) for c in checks if c.repeats]
    notes = [
        "to humans: share of these items with confidence below the threshold; auto agreement: "
        f"share of the others whose verdict equals the human reference (thresholds leaving "
        f"fewer than {MIN_PRINTED_AUTO} are in the JSON only); {_agreement_note(r)}; "
        "an item without a verdict has confidence 0 and disagrees. Only the confidence "
        "threshold is applied here (the service's agreement, position and quorum checks "
        "would route more).",
    ]
    if a.calibration:
        delta = a.calibration[0].delta
        notes.append(
            f"guarantee: certified means that, with probability >= {1 - delta:g} over the draw "
            "of the calibration half, the true disagreement rate of items at or above the "
            "threshold is <= alpha. It bounds the true rate, not a sample's: the held-out "
            "rate can exceed alpha by sampling noise, and across splits it may do so in up "
            f"to about delta ({delta:g}) of them, a little more on a small held-out half."
        )
    lines += [_wrap(n, "  * ") for n in notes]
    return "\n".join(lines)


def _alpha_line(c: AlphaCheck) -> str:
    cal, held = c.split.calibration, c.split.held_out
    if cal.certified:
        guarantee = f"<= {c.alpha:g} at {1 - c.delta:.0%}"
        within = "yes" if c.split.within_alpha else "NO"
        threshold, certified = f"{cal.threshold:9.3f}", "yes"
    else:
        guarantee, within, threshold, certified = "none", "–", f"{'–':>9}", "no"
    return (
        f"    {c.alpha:5.2f}  {threshold}  {certified:>9}   {cal.coverage:8.3f}  "
        f"{_num(cal.risk)}  {guarantee:<15}  {held.coverage:8.3f}  {_num(held.risk)}  {within}"
    )


def _repeats_line(c: AlphaCheck) -> str:
    rep = c.repeats
    assert rep is not None
    head = (
        f"alpha {c.alpha:g} over {rep.n_splits} splits (seeds {rep.first_seed}-"
        f"{rep.first_seed + rep.n_splits - 1}): certified in {rep.n_certified}/{rep.n_splits}"
    )
    if not rep.n_certified:
        return _wrap(f"{head}; every item to humans", "    ", " " * 6)
    risk = "" if rep.mean_held_out_risk is None else f", mean risk {rep.mean_held_out_risk:.3f}"
    return _wrap(
        f"{head}; held-out coverage mean {rep.mean_held_out_coverage:.3f} "
        f"[{rep.min_held_out_coverage:.3f}, {rep.max_held_out_coverage:.3f}]{risk}; held-out "
        f"risk > alpha in {rep.n_exceeded}/{rep.n_splits} ({rep.exceeded_share:.2f}; "
        f"delta {c.delta:g})",
        "    ",
        " " * 6,
    )


def _position_table(r: DatasetResult) -> str:
    if not any(p.n_comparable for p in r.position):
        unscored = ", ".join(f"{_shown(p.judge)} {p.n_unusable_votes or 0}" for p in r.position)
        text = (
            "position bias: not measurable, no judge has both orders on any item; "
            f"unscored votes: {unscored}"
        )
        return textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="    ")
    width = max(12, *(len(_shown(p.judge)) for p in r.position))
    head = (
        f"  {'position bias':<{width}} {'both orders':>11}  {'conflict':>8}  "
        f"{'first won':>9}  {'first-pos rate':>14}  {'95% Wilson CI':<16}  {'unscored':>8}"
    )
    lines = [head]
    for p in r.position:
        ci = f"[{p.ci_low:.3f}, {p.ci_high:.3f}]" if p.ci_low is not None else ""
        directed = p.n_first_won + p.n_second_won
        lines.append(
            f"  {_shown(p.judge):<{width}} {p.n_comparable:11d}  {_num(p.inconsistency_rate, 8)}  "
            f"{f'{p.n_first_won}/{directed}':>9}  {_num(p.first_position_rate, 14)}  "
            f"{ci:<16}  {p.n_unusable_votes or 0:8d}"
        )
    note = (
        "conflict: share of items with both orders usable whose verdicts differ; "
        "first-pos rate: among conflicts where one position won in both orders, the share "
        "won by the response shown first (0.5 = no position preference)."
    )
    lines.append(textwrap.fill(note, 100, initial_indent="  * ", subsequent_indent="    "))
    return "\n".join(lines)
