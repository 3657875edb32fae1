"""The jury model's training data as sufficient statistics: one row per distinct pattern.

An item's *pattern* is what each worker answered: a scale index (a hard vote) or a
probability vector over the scale (a soft vote, from logprobs); a worker with no usable
vote is missing data and is simply absent. Unlabelled items with the same pattern are one
row with a count, so a fit costs O(distinct patterns x workers) per EM round however many
items the panel has judged: on a binary scale with 5 judges there are at most 3^5 = 243
rows, and in practice a few hundred to a few thousand for larger panels, against millions
of stored evaluations. Labelled items are grouped the same way by (pattern, label). A
label is a distribution over the latent classes: one annotator's label is a point mass,
several annotators' labels their shares.

Arrays (R rows, O hard observations, S soft observations, L scale values, C classes):
`count` (R,); `hard_row`, `hard_worker`, `hard_code` (O,); `soft_row`, `soft_worker`
(S,) and `soft_probs` (S, L); `label` (R, C), NaN rows for unlabelled patterns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from judges import Vote
from routing.jury.model import Worker
from rubrics import Order, ScaleValue, value_key

__all__ = [
    "JuryData",
    "Observation",
    "label_distribution",
    "observations",
    "tabulate",
    "worker_of",
]

Observation = int | tuple[float, ...]
"""One worker's answer on one item: a scale index, or probabilities over the scale."""


@dataclass(frozen=True)
class JuryData:
    """Pattern-grouped training data (shapes in the module docstring)."""

    workers: tuple[Worker, ...]
    n_observed: int
    classes: tuple[int, ...]
    count: NDArray[np.float64]
    hard_row: NDArray[np.int64]
    hard_worker: NDArray[np.int64]
    hard_code: NDArray[np.int64]
    soft_row: NDArray[np.int64]
    soft_worker: NDArray[np.int64]
    soft_probs: NDArray[np.float64]
    label: NDArray[np.float64]

    @property
    def n_rows(self) -> int:
        return int(self.count.size)

    @property
    def labelled(self) -> NDArray[np.bool_]:
        """(R,) True for rows with a clamped label."""
        return np.asarray(~np.isnan(self.label[:, 0]), dtype=np.bool_)


def _scale_index(scale: Sequence[ScaleValue], value: object) -> int | None:
    for i, v in enumerate(scale):
        if type(v) is type(value) and v == value:
            return i
    return None


@lru_cache(maxsize=4096)
def worker_of(judge: str, order: Order | None, reversed_scale: bool) -> Worker:
    """The (immutable, shared) worker of one judge in one presentation."""
    return Worker(judge=judge, order=order, reversed_scale=reversed_scale)


def observations(scale: Sequence[ScaleValue], votes: Sequence[Vote]) -> dict[Worker, Observation]:
    """Each worker's observation on one item from its votes (canonical frame).

    Only usable votes count (unscored and failed calls are missing data); a worker's first
    usable vote is kept (a repeated call in the same presentation is not a second
    opinion). A vote with a `distribution` is a soft observation over the scale.
    """
    out: dict[Worker, Observation] = {}
    for vote in votes:
        if not vote.usable:
            continue
        worker = worker_of(vote.judge, vote.order, vote.reversed_scale)
        if worker in out:
            continue
        idx = _scale_index(scale, vote.value)
        if idx is None:
            raise ValueError(f"vote of {vote.judge!r}: value {vote.value!r} is not on {scale}")
        soft = _soft(scale, vote.distribution) if vote.distribution else None
        # A distribution with no mass on the scale says nothing more than the value.
        out[worker] = soft if soft is not None and sum(soft) > 0 else idx
    return out


def _soft(scale: Sequence[ScaleValue], dist: Mapping[str, float]) -> tuple[float, ...]:
    raw = [max(float(dist.get(value_key(v), 0.0)), 0.0) for v in scale]
    total = sum(raw)
    if not math.isfinite(total) or total <= 0:
        return tuple(0.0 for _ in scale)
    return tuple(p / total for p in raw)


def label_distribution(
    scale: Sequence[ScaleValue], classes: Sequence[int], labels: Sequence[ScaleValue]
) -> tuple[float, ...] | None:
    """Annotators' labels as shares over the latent classes; None without a label.

    Raises ValueError for a label that is not a latent class (e.g. a human `tie` on a
    rubric whose classes exclude tie).
    """
    if not labels:
        return None
    shares = [0.0] * len(classes)
    for label in labels:
        idx = _scale_index(scale, label)
        if idx is None or idx not in classes:
            allowed = [scale[c] for c in classes]
            raise ValueError(f"human label {label!r} is not a latent class {allowed}")
        shares[list(classes).index(idx)] += 1.0
    return tuple(s / len(labels) for s in shares)


def tabulate(
    items: Sequence[Mapping[Worker, Observation]],
    n_observed: int,
    classes: Sequence[int],
    labels: Sequence[Sequence[float] | None] | None = None,
    workers: Sequence[Worker] | None = None,
    *,
    group: bool = True,
) -> JuryData:
    """Group items into pattern rows. `labels[i]` is item i's label distribution over the
    classes (None: unlabelled); `workers` fixes the worker order (default: sorted keys);
    `group=False` keeps one row per item (the same fit, at a cost linear in items)."""
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"labels must have one entry per item ({len(items)}); got {len(labels)}")
    cls = tuple(int(c) for c in classes)
    if len(cls) < 2 or any(not 0 <= c < n_observed for c in cls):
        raise ValueError(f"classes must be at least 2 indices into {n_observed} scale values")
    seen = {w for obs in items for w in obs}
    order = tuple(workers) if workers is not None else tuple(sorted(seen, key=lambda w: w.key))
    col = {w: j for j, w in enumerate(order)}
    if missing := seen - set(col):
        raise ValueError(f"workers not listed: {sorted(w.key for w in missing)}")
    rows: dict[tuple[object, ...], int] = {}
    counts: list[float] = []
    lab: list[tuple[float, ...] | None] = []
    hard: list[tuple[int, int, int]] = []
    soft: list[tuple[int, int, tuple[float, ...]]] = []
    for i, obs in enumerate(items):
        given = None if labels is None else labels[i]
        label = None if given is None else tuple(float(x) for x in given)
        if label is not None and (
            len(label) != len(cls) or not math.isclose(sum(label), 1.0, abs_tol=1e-9)
        ):
            raise ValueError(f"item {i}: a label must be {len(cls)} shares summing to 1")
        pattern = tuple(sorted((col[w], _checked(o, n_observed)) for w, o in obs.items()))
        key = (pattern, label)
        r = rows.get(key) if group else None
        if r is not None:
            counts[r] += 1.0
            continue
        r = len(counts)
        rows[key] = r
        counts.append(1.0)
        lab.append(label)
        for j, o in pattern:
            if isinstance(o, int):
                hard.append((r, j, o))
            else:
                soft.append((r, j, o))
    label_arr = np.full((len(counts), len(cls)), np.nan)
    for r, label in enumerate(lab):
        if label is not None:
            label_arr[r] = label
    return JuryData(
        workers=order,
        n_observed=n_observed,
        classes=cls,
        count=np.array(counts, dtype=np.float64),
        hard_row=np.array([h[0] for h in hard], dtype=np.int64),
        hard_worker=np.array([h[1] for h in hard], dtype=np.int64),
        hard_code=np.array([h[2] for h in hard], dtype=np.int64),
        soft_row=np.array([s[0] for s in soft], dtype=np.int64),
        soft_worker=np.array([s[1] for s in soft], dtype=np.int64),
        soft_probs=np.array([s[2] for s in soft], dtype=np.float64).reshape(-1, n_observed),
        label=label_arr,
    )


def _checked(obs: Observation, n_observed: int) -> Observation:
    if isinstance(obs, bool):
        raise ValueError(f"an observation is a scale index or probabilities; got {obs!r}")
    if isinstance(obs, int):
        if not 0 <= obs < n_observed:
            raise ValueError(f"scale index {obs} is outside 0..{n_observed - 1}")
        return obs
    probs = tuple(float(p) for p in obs)
    if len(probs) != n_observed or any(not (p >= 0 and math.isfinite(p)) for p in probs):
        raise ValueError(f"a soft vote must be {n_observed} non-negative probabilities")
    total = sum(probs)
    if total <= 0:
        raise ValueError("a soft vote must have positive total probability")
    return tuple(p / total for p in probs)
