"""Panel agreement from vote patterns with counts: the window figures at any window size.

A window of N items holds far fewer distinct *patterns* (one judge code per column, NaN
for no usable vote, and the human code) than items: three judges on a 1-5 scale have at
most 6^4 of them whatever N is. Every figure of `routing.agreement.panel_agreement` is a
sum over items, so it is a sum over patterns weighted by how often each occurred:

- Fleiss' kappa: the category totals and the per-item agreement P_i (Fleiss 1971);
- Krippendorff's alpha: the coincidence matrix, a sum of per-item matrices (Krippendorff
  2011);
- Cohen's kappa (judge pairs, and each judge against humans): the k x k confusion table.

`pattern_agreement(rubric, judges, codes, human, counts)` equals
`panel_agreement(rubric, judges, codes.repeat(counts), human.repeat(counts))` in every
point estimate and every Cohen interval (the Wald interval is a function of the table).
The Fleiss and alpha intervals are the same percentile bootstrap over items: drawing N
items with replacement from N is drawing how often each pattern occurs from a
multinomial(N, counts / N), so the replicates follow the item bootstrap's distribution
exactly, at a cost of O(patterns) per replicate instead of O(items). They are not the
item bootstrap's numbers for the same seed (other random draws).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from routing.kappa import cohen_kappa_from_table
from routing.krippendorff import Level, _alpha, _item_coincidences, _value_counts
from routing.measures import level_for, weighting_for
from routing.panel_stats import MIN_PAIRED, PanelAgreement
from routing.stat_result import AgreementEstimate, bootstrap_interval, check_interval_args
from rubrics import Rubric

__all__ = ["pattern_agreement", "weighted_fleiss_kappa", "weighted_krippendorff_alpha"]

N_BOOT = 200
"""Bootstrap replicates: each costs O(patterns), so a large window needs no fewer."""


def _as_counts(counts: ArrayLike, n_rows: int) -> NDArray[np.int64]:
    c = np.asarray(counts)
    if c.shape != (n_rows,):
        raise ValueError(f"counts must have one entry per pattern ({n_rows}); got {c.shape}")
    if np.any(c < 0) or np.any(c != np.round(c)):
        raise ValueError("counts must be non-negative integers")
    return c.astype(np.int64)


def _draws(counts: NDArray[np.int64], n_boot: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """n_boot x patterns: how often each pattern is drawn in an item bootstrap resample."""
    n = int(counts.sum())
    result: NDArray[np.float64] = rng.multinomial(n, counts / n, size=n_boot).astype(np.float64)
    return result


def weighted_fleiss_kappa(
    codes: ArrayLike,
    counts: ArrayLike,
    *,
    n_categories: int,
    confidence: float = 0.95,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> AgreementEstimate:
    """Fleiss' kappa over complete patterns (every rater rated), pattern p standing for
    counts[p] items: `routing.kappa.fleiss_kappa` of the expanded matrix."""
    arr = np.asarray(codes, dtype=np.float64)
    w = _as_counts(counts, arr.shape[0])
    check_interval_args(confidence, n_boot)
    keep = ~np.isnan(arr).any(axis=1) & (w > 0)
    arr, w = arr[keep], w[keep]
    if not w.sum():
        raise ValueError("no item was rated by every rater")
    raters = arr.shape[1]
    table = (arr.astype(np.int64)[:, :, None] == np.arange(n_categories)).sum(axis=1)
    c = table.astype(np.float64)
    n_items = int(w.sum())
    p_i = ((c * c).sum(axis=1) - raters) / (raters * (raters - 1))
    wf = w.astype(np.float64)

    def kappa(times: NDArray[np.float64]) -> float:
        total = float(times.sum())
        p_j = times @ c / (total * raters)
        if np.count_nonzero(p_j) <= 1:
            return float("nan")  # one category only: 0/0
        p_e = float((p_j * p_j).sum())
        return (float(times @ p_i) / total - p_e) / (1 - p_e)

    value = kappa(wf)
    degenerate = bool(np.isnan(value))
    low = high = se = float("nan")
    if degenerate:
        value = 1.0
        if n_boot:
            low = high = 1.0
            se = 0.0
    elif n_boot:
        draws = _draws(w, n_boot, np.random.default_rng(seed))
        reps = np.array([kappa(d) for d in draws])
        low, high, se = bootstrap_interval(reps, confidence)
    return AgreementEstimate(
        value=value,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        std_error=se,
        n_items=n_items,
        n_raters=raters,
        method="fleiss_kappa",
        ci_method="bootstrap-percentile" if n_boot else "none",
        degenerate=degenerate,
    )


def weighted_krippendorff_alpha(
    codes: ArrayLike,
    counts: ArrayLike,
    *,
    level: Level = "nominal",
    confidence: float = 0.95,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> AgreementEstimate:
    """Krippendorff's alpha over pairable patterns (two or more usable votes), pattern p
    standing for counts[p] items: `routing.krippendorff.krippendorff_alpha` of the
    expanded matrix."""
    arr = np.asarray(codes, dtype=np.float64)
    w = _as_counts(counts, arr.shape[0])
    check_interval_args(confidence, n_boot)
    present = ~np.isnan(arr)
    keep = (present.sum(axis=1) >= 2) & (w > 0)
    arr, present, w = arr[keep], present[keep], w[keep]
    if not w.sum():
        raise ValueError("no item has two or more usable votes, so no pairable values")
    values = np.unique(arr[present])
    per_item = _item_coincidences(_value_counts(arr, present, values))
    flat = per_item.reshape(per_item.shape[0], -1)
    size = values.size
    value, degenerate = _alpha((w.astype(np.float64) @ flat).reshape(size, size), values, level)
    low = high = se = float("nan")
    if n_boot and degenerate:
        low = high = 1.0
        se = 0.0
    elif n_boot:
        reps = np.empty(n_boot)
        for b, times in enumerate(_draws(w, n_boot, np.random.default_rng(seed))):
            rep, degenerate_rep = _alpha((times @ flat).reshape(size, size), values, level)
            reps[b] = np.nan if degenerate_rep else rep
        low, high, se = bootstrap_interval(reps, confidence)
    return AgreementEstimate(
        value=value,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        std_error=se,
        n_items=int(w.sum()),
        n_raters=int(np.count_nonzero(present.any(axis=0))),
        method=f"krippendorff_alpha[{level}]",
        ci_method="bootstrap-percentile" if n_boot else "none",
        degenerate=degenerate,
    )


def _table(
    a: NDArray[np.float64], b: NDArray[np.float64], w: NDArray[np.int64], k: int
) -> NDArray[np.float64]:
    both = ~(np.isnan(a) | np.isnan(b)) & (w > 0)
    table = np.zeros((k, k), dtype=np.float64)
    np.add.at(table, (a[both].astype(np.int64), b[both].astype(np.int64)), w[both])
    return table


def pattern_agreement(
    rubric: Rubric,
    judges: Sequence[str],
    codes: ArrayLike,
    human: ArrayLike,
    counts: ArrayLike,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> PanelAgreement:
    """`routing.agreement.panel_agreement` of the items the patterns stand for: `codes`
    (patterns x judges, scale index or NaN), `human` (one code or NaN per pattern) and
    `counts` (items per pattern). Rows need not be distinct."""
    arr = np.asarray(codes, dtype=np.float64).reshape(-1, len(judges))
    hum = np.asarray(human, dtype=np.float64).reshape(-1)
    if hum.shape[0] != arr.shape[0]:
        raise ValueError(f"human must have one entry per pattern ({arr.shape[0]})")
    w = _as_counts(counts, arr.shape[0])
    k = len(rubric.scale)
    weighting = weighting_for(rubric)
    present = ~np.isnan(arr)
    n_items = int(w.sum())
    fleiss = alpha = None
    complete = int(w[present.all(axis=1)].sum()) if arr.size else 0
    if len(judges) >= 2 and complete >= MIN_PAIRED:
        fleiss = weighted_fleiss_kappa(arr, w, n_categories=k, n_boot=n_boot, seed=seed)
    pairable = int(w[present.sum(axis=1) >= 2].sum()) if arr.size else 0
    if len(judges) >= 2 and pairable >= MIN_PAIRED:
        alpha = weighted_krippendorff_alpha(
            arr, w, level=level_for(rubric), n_boot=n_boot, seed=seed
        )

    matrix: dict[str, dict[str, float | None]] = {a: {} for a in judges}
    if len(judges) >= 2 and n_items >= 1:
        # panel_agreement computes pairs only with two items and two usable votes in all
        enough = n_items >= 2 and int((present * w[:, None]).sum()) >= 2
        for i, a in enumerate(judges):
            for j, b in enumerate(judges):
                if i == j:
                    matrix[a][b] = 1.0
                    continue
                table = _table(arr[:, i], arr[:, j], w, k)
                shared = int(table.sum())
                ok = enough and shared >= MIN_PAIRED
                matrix[a][b] = (
                    cohen_kappa_from_table(table, weights=weighting).value if ok else None
                )

    human_kappa: dict[str, AgreementEstimate | None] = {}
    n_human = int(w[~np.isnan(hum)].sum())
    for i, name in enumerate(judges):
        table = _table(arr[:, i], hum, w, k)
        human_kappa[name] = (
            cohen_kappa_from_table(table, weights=weighting) if table.sum() >= MIN_PAIRED else None
        )
    return PanelAgreement(
        judges=tuple(judges),
        n_items=n_items,
        fleiss_kappa=fleiss,
        krippendorff_alpha=alpha,
        cohen_kappa=matrix,
        human_kappa=human_kappa,
        n_human=n_human,
        weighting=weighting,
    )
