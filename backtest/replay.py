"""Replay recorded judge votes through Quorum's own routing code, and score them.

For each dataset (docs/backtest.md), every single judge and every panel aggregation is
replayed item by item through `routing.conclude` (which reconciles pairwise orders with
`routing.position.reconcile` and aggregates with `routing.aggregate`) under a permissive
routing policy, and its verdicts are scored against the human reference label. Weighted
panels get reliability weights cross-fitted over folds, so no item's own human label
sets the weights it is judged with. The panel confidences of the default aggregations
feed the routing curve and the calibrated threshold (`backtest.routing_curve`). The
sequential and cascade rows replay a majority panel asking in waves
(`backtest.strategies`). The results are `backtest.results` models; reporting is in
`backtest.report` (table, JSON) and `backtest.plots`, the command in `backtest.cli`.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from backtest.datasets import Dataset
from backtest.jury import DEFAULT_AUDIT_RATE, DEFAULT_LABELS, fold_assignment, plurality
from backtest.jury_run import run_jury
from backtest.results import DatasetResult, Kind, Row
from backtest.routing_curve import RoutingAnalysis, RoutingSettings, analyse_routing
from backtest.strategies import STRATEGIES, replay_strategy
from judges import Vote
from routing import (
    Aggregation,
    JudgeVerdict,
    RoutingPolicy,
    Weighting,
    allowed,
    cohen_kappa,
    cohen_kappa_matrix,
    conclude,
    fleiss_kappa,
    krippendorff_alpha,
)
from routing.bias import position_bias
from routing.jury import JuryPriors, Selection
from routing.measures import level_for, weighting_for
from routing.reliability import ReliabilityWeights, dawid_skene, reliability_weights
from routing.sequential import default_quorum
from rubrics import Mode, Rubric, ScaleValue

__all__ = ["DS_MAX_ITER", "PERMISSIVE", "PROGRESS_MIN_ITEMS", "human_reference", "run_backtest"]

PERMISSIVE = RoutingPolicy(
    min_agreement=None, min_confidence=None, max_position_inconsistency=None, audit_rate=0.0
)
"""Every item with a usable vote is auto-decided: the backtest scores every verdict."""
DS_MAX_ITER = 1000
"""EM rounds allowed offline: 20 judges on a 5-point scale need 100-200 to converge."""
PROGRESS_MIN_ITEMS = 500
"""Datasets larger than this show a progress bar on stderr."""

Verdicts = list[ScaleValue | None]
T = TypeVar("T")


def human_reference(rubric: Rubric, labels: Sequence[ScaleValue]) -> tuple[ScaleValue | None, bool]:
    """The item's reference label and whether its humans tied.

    Nominal scales: the most frequent label; a tie between labels gives (None, True).
    Ordinal scales: the median scale position, a half rounded up to the next scale value.
    """
    idx = sorted(i for i in (rubric.index(v) for v in labels) if i is not None)
    if not idx:
        return None, False
    if rubric.ordinal:
        mid = len(idx) // 2
        median = idx[mid] if len(idx) % 2 else (idx[mid - 1] + idx[mid]) / 2
        return rubric.scale[int(np.floor(median + 0.5))], False
    counts = Counter(idx).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None, True
    return rubric.scale[counts[0][0]], False


def run_backtest(
    dataset: Dataset,
    *,
    folds: int = 5,
    seed: int = 0,
    min_human: int = 30,
    progress: bool | None = None,
    routing: RoutingSettings | None = None,
    labels: int = DEFAULT_LABELS,
    audit_rate: float = DEFAULT_AUDIT_RATE,
    priors: JuryPriors | None = None,
    dependence_cv: bool = True,
    select: Selection = "scale",
) -> DatasetResult:
    """Replay one dataset; `progress` None shows a bar on stderr above PROGRESS_MIN_ITEMS
    when stderr is a terminal;
    `routing` sets the calibration of the routing threshold (default `RoutingSettings()`);
    `labels`, `audit_rate` and `priors` the jury rows (`backtest.jury_run`), whose
    dependence CV table runs when `dependence_cv`; `select` says where each fold's error
    model is chosen on held-out label likelihood (`routing.jury.selects`)."""
    rubric, items, judges = dataset.rubric, dataset.items, dataset.judges
    n, k = len(items), len(rubric.scale)
    if folds < 2:
        raise ValueError(f"folds must be at least 2; got {folds}")
    folds = max(2, min(folds, n))  # more folds than items would only fit empty ones
    if labels < 0 or not 0 <= audit_rate <= 1:
        raise ValueError(
            f"labels must be >= 0 and audit_rate in [0, 1]; got {labels}, {audit_rate}"
        )
    settings = routing or RoutingSettings()
    refs = [human_reference(rubric, it.human) for it in items]
    ref_codes = _codes(rubric, [r for r, _ in refs])
    pairwise = rubric.mode is Mode.PAIRWISE
    forced = pairwise and not any(r == "tie" for r, _ in refs)
    kw = weighting_for(rubric)
    # A bar only on a terminal: redirected, it is a stream of carriage-return lines.
    show = n > PROGRESS_MIN_ITEMS and sys.stderr.isatty() if progress is None else progress

    configs: list[tuple[str, Kind, list[list[Vote]]]] = []
    for judge in judges:
        own = [[v for v in it.votes if v.judge == judge] for it in items]
        if pairwise and all(v.order is None for vs in own for v in vs):
            # Recorded with both orders already averaged: one vote per item, no order.
            configs.append((f"{judge} (orders averaged)", "judge", own))
            continue
        shown = {v.order for vs in own for v in vs}
        both = pairwise and {"AB", "BA"} <= shown
        if pairwise:  # one order: AB, or BA for a judge only ever asked that way round
            one = "AB" if "AB" in shown else "BA"
            first = [[v for v in vs if v.order == one] for vs in own]
            configs.append((f"{judge} (single order)", "judge", first))
        if both or not pairwise:
            configs.append((f"{judge} (both orders)" if both else judge, "judge", own))
    basic = (Aggregation.MAJORITY, Aggregation.MEDIAN, Aggregation.MEAN)
    panel_aggs = [a for a in basic if allowed(rubric, a) is None]
    every = [list(it.votes) for it in items]
    strategies = STRATEGIES if judges else ()

    bar = Passes(
        tqdm(
            total=n, desc=dataset.name, unit="item", file=sys.stderr, disable=not show, leave=False
        ),
        dataset.name,
        len(configs) + len(panel_aggs) + 1 + len(strategies),
    )
    rows: list[Row] = []

    def score(
        name: str, kind: Kind, verdicts: Verdicts, calls: float, default: bool = False
    ) -> None:
        rows.append(_row(rubric, name, kind, verdicts, ref_codes, kw, calls, default))

    for name, kind, votes in configs:
        bar.start(name)
        verdicts = _replay(rubric, votes, Aggregation.MAJORITY, lambda i: {}, bar)
        score(name, kind, verdicts, _calls(votes))

    # The majority panel's reconciled judge verdicts feed agreement, DS and the weights.
    codes = np.full((n, len(judges)), np.nan)
    column = {j: c for c, j in enumerate(judges)}

    def keep(i: int, judged: Sequence[JudgeVerdict]) -> None:
        for verdict in judged:
            if verdict.value is not None:
                codes[i, column[verdict.judge]] = rubric.index(verdict.value)

    # The service's default panels: majority, and median on numeric ordinal scales.
    routed = {Aggregation.MAJORITY} | ({Aggregation.MEDIAN} if rubric.numeric else set())
    referenced = ~np.isnan(ref_codes)
    analyses: list[RoutingAnalysis] = []
    for agg in panel_aggs:
        record = keep if agg is Aggregation.MAJORITY else None
        conf: list[float] = []
        bar.start(agg.value)
        verdicts = _replay(rubric, every, agg, lambda i: {}, bar, record, conf)
        score(agg.value, "panel", verdicts, _calls(every))
        if agg in routed:
            # A tie or missing verdict never equals a reference, so it counts as disagreement.
            agree = _codes(rubric, verdicts) == ref_codes
            got = np.array(conf)[referenced], agree[referenced]
            analyses.append(analyse_routing(agg.value, *got, settings, seed))

    many = len(judges) >= 2 and bool((~np.isnan(codes)).any())
    ds = dawid_skene(codes, k, max_iter=DS_MAX_ITER) if many else None
    fold_of = fold_assignment(n, folds, seed)
    fitted: list[ReliabilityWeights] = []
    for f in range(folds):
        train = np.where(fold_of == f, np.nan, ref_codes)
        fitted.append(
            reliability_weights(codes, k, human=train, judges=judges, min_human=min_human, ds=ds)
        )
    per_fold = [w.as_dict() for w in fitted]
    bar.start("weighted")
    verdicts = _replay(rubric, every, Aggregation.WEIGHTED, lambda i: per_fold[fold_of[i]], bar)
    score("weighted", "panel", verdicts, _calls(every))
    if ds is not None:
        ds_labels = ds.labels()
        voted = ~np.isnan(codes).all(axis=1)
        ds_verdicts: Verdicts = [
            rubric.scale[int(c)] if voted[i] else None for i, c in enumerate(ds_labels)
        ]
        score("dawid-skene", "panel", ds_verdicts, _calls(every))
    if judges:
        plural = [plurality(dataset, it.votes) for it in items]
        score("plurality of raw votes", "panel", plural, _calls(every))
    for replay in strategies:
        asked = replay_strategy(rubric, every, judges, replay)
        bar.start(replay.name)
        verdicts = _replay(rubric, asked, Aggregation.MAJORITY, lambda i: {}, bar)
        score(replay.name, "strategy", verdicts, _calls(asked))
    bar.close()
    jury_run = None
    if judges:
        jury_routing, jury_run = run_jury(
            dataset,
            fold_of,
            ref_codes,
            lambda v: _codes(rubric, v),
            score,
            settings=settings,
            seed=seed,
            labels=labels,
            audit_rate=audit_rate,
            priors=priors or JuryPriors(),
            with_cv=dependence_cv,
            select=select,
        )
        analyses.insert(0, jury_routing)
    ds_flags = [w.dawid_skene_converged for w in fitted if w.dawid_skene_converged is not None]

    sources = {j: dict(Counter(w.sources[c] for w in fitted)) for c, j in enumerate(judges)}
    full = reliability_weights(codes, k, human=ref_codes, judges=judges, min_human=min_human, ds=ds)
    return DatasetResult(
        dataset=dataset.name,
        path=str(dataset.path),
        mode=rubric.mode,
        scale=rubric.scale,
        label_kind=dataset.label_kind,
        judges=judges,
        n_items=n,
        n_referenced=int((~np.isnan(ref_codes)).sum()),
        n_human_ties=sum(tie for _, tie in refs),
        n_unlabelled=sum(not it.human for it in items),
        forced_choice=forced,
        kappa_weights=kw,
        rows=tuple(rows),
        **(_agreement(rubric, codes, kw) if many else {}),
        position=position_bias([it.votes for it in items]) if pairwise else (),
        weights=full,
        weight_sources=sources,
        dawid_skene_iterations=ds.iterations if ds else None,
        dawid_skene_converged=ds.converged if ds else None,
        weights_dawid_skene_converged=all(ds_flags) if ds_flags else None,
        folds=folds,
        seed=seed,
        min_human=min_human,
        routing=tuple(analyses),
        jury=jury_run,
        quorum=default_quorum(len(judges)) if judges else None,
    )


class Passes:
    """The progress bar of one dataset: it counts the dataset's items (n of n) once per
    replayed configuration and names the pass ("3/9 median"), rather than counting
    items x configurations as if they were items."""

    def __init__(self, bar: Any, name: str, passes: int) -> None:
        self.bar = bar
        self.name = name
        self.passes = passes
        self.done = 0

    def start(self, label: str) -> None:
        self.done += 1
        if self.done > 1:
            self.bar.reset(total=self.bar.total)
        self.bar.set_description(f"{self.name} {self.done}/{self.passes} {label}")

    def update(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def _agreement(rubric: Rubric, codes: NDArray[np.float64], kw: Weighting) -> dict[str, Any]:
    """Panel agreement over the judges' reconciled verdicts (items x judges codes)."""
    k = len(rubric.scale)
    level = level_for(rubric)
    return {
        "fleiss_kappa": _maybe(lambda: fleiss_kappa(codes, n_categories=k)),
        "krippendorff_alpha": _maybe(lambda: krippendorff_alpha(codes, level=level)),
        "judge_kappa": _maybe(lambda: cohen_kappa_matrix(codes, weights=kw, n_categories=k)),
    }


def _replay(
    rubric: Rubric,
    votes: Sequence[Sequence[Vote]],
    aggregation: Aggregation,
    weights: Callable[[int], Mapping[str, float]],
    bar: Any,
    keep: Callable[[int, Sequence[JudgeVerdict]], None] | None = None,
    confidences: list[float] | None = None,
) -> Verdicts:
    """Each item's verdict from `routing.conclude` with the permissive policy (and its
    confidence appended to `confidences` when given)."""
    out: Verdicts = []
    for i, item_votes in enumerate(votes):
        verdict = conclude(
            rubric,
            item_votes,
            aggregation=aggregation,
            quorum=1,
            policy=PERMISSIVE,
            weights=weights(i),
            audit_draw=1.0,  # never below audit_rate: no random audit in a replay
        )
        if keep is not None:
            keep(i, verdict.judges)
        if confidences is not None:
            confidences.append(verdict.confidence)
        out.append(verdict.value)
        bar.update(1)
    return out


def _codes(rubric: Rubric, values: Sequence[ScaleValue | None]) -> NDArray[np.float64]:
    """Scale indices, NaN for None."""
    idx = [None if v is None else rubric.index(v) for v in values]
    return np.array([np.nan if i is None else i for i in idx], dtype=np.float64)


def _calls(votes: Sequence[Sequence[Vote]]) -> float:
    return sum(len(v) for v in votes) / len(votes) if votes else 0.0


def _row(
    rubric: Rubric,
    name: str,
    kind: Kind,
    verdicts: Verdicts,
    ref: NDArray[np.float64],
    kw: Weighting,
    calls: float,
    default: bool = False,
) -> Row:
    got = _codes(rubric, verdicts)
    covered = ~np.isnan(got)
    if rubric.mode is Mode.PAIRWISE:
        covered &= got != rubric.index("tie")
    referenced = ~np.isnan(ref)
    accuracy = float((got[referenced] == ref[referenced]).mean()) if referenced.any() else None
    k = len(rubric.scale)
    kappa = _maybe(lambda: cohen_kappa(got, ref, weights=kw, n_categories=k))
    return Row(
        name=name,
        kind=kind,
        n_items=len(verdicts),
        coverage=float(covered.mean()) if len(verdicts) else 0.0,
        accuracy=accuracy,
        kappa=kappa,
        calls_per_item=calls,
        default=default,
    )


def _maybe(compute: Callable[[], T]) -> T | None:
    """The statistic, or None where it is undefined (ValueError: e.g. no item rated by both)."""
    try:
        return compute()
    except ValueError:
        return None
