"""SQUAREM: EM's fixed-point iteration, extrapolated (Varadhan & Roland 2008, "Simple and
globally convergent methods for accelerating the convergence of any EM algorithm",
Scandinavian Journal of Statistics 35, scheme S3, with the step-length bound of their R
package `SQUAREM` for a map without an objective).

Plain EM converges linearly, at a rate near 1 where the likelihood is flat: votes that
carry little evidence (stated probabilities near uniform) took thousands of rounds, where
the same fixed point is reached in tens with two EM steps and one extrapolation per
cycle. The fixed point and the convergence rule are EM's own: the fit has converged when
one EM step moves no parameter by `tol` or more. Safeguards: the extrapolation's length
starts bounded by one (a step no longer than the plain two-step point's) and the bound
grows fourfold each time a step reaches it; a point off the simplex is pulled back
towards the plain two-step point. There is no likelihood check: the jury's fit is a
penalised EM whose prior moves with the pooled accuracy, so it has no fixed objective
to check against (the data log-likelihood alone falls along plain EM's own path there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

A = TypeVar("A")
Vector = NDArray[np.float64]

BACKTRACKS = 10
"""Halvings of the step towards the plain two-step point before that point is used."""
GROWTH = 4.0
"""How much the bound on the extrapolation's length grows each time a step reaches it."""


class Fixed(Generic[A]):
    """Where the iteration stopped: the parameters, what the last EM step also returned
    (`aux`), the EM steps taken and whether the last moved every entry by less than tol."""

    def __init__(self, x: Vector, aux: A, steps: int, converged: bool) -> None:
        self.x, self.aux, self.steps, self.converged = x, aux, steps, converged


def squarem(
    step: Callable[[Vector], tuple[Vector, A]],
    x0: Vector,
    aux0: A,
    *,
    tol: float,
    max_steps: int,
) -> Fixed[A]:
    """Iterate the EM map `step` (parameters -> (next parameters, aux)) from `x0`, every
    entry a probability in [0, 1], with SQUAREM's extrapolation; at most `max_steps` EM
    steps (each call of `step` is one)."""
    steps, bound = 0, 1.0
    x, aux = x0, aux0

    def moved(a: Vector, b: Vector) -> float:
        return float(np.abs(a - b).max()) if a.size else 0.0

    while steps < max_steps:
        x1, a1 = step(x)
        steps += 1
        if moved(x1, x) < tol or steps >= max_steps:
            return Fixed(x1, a1, steps, moved(x1, x) < tol)
        x2, a2 = step(x1)
        steps += 1
        if moved(x2, x1) < tol or steps >= max_steps:
            return Fixed(x2, a2, steps, moved(x2, x1) < tol)
        r, v = x1 - x, x2 - 2.0 * x1 + x
        norm_v = float(np.linalg.norm(v))
        if norm_v == 0.0:
            x, aux = x2, a2
            continue
        length = min(float(np.linalg.norm(r)) / norm_v, bound)
        if length == bound:
            bound *= GROWTH
        ahead = _feasible_point(x, r, v, -max(length, 1.0))  # -1 is plain EM's x2
        if ahead is None:
            x, aux = x2, a2
            continue
        x3, a3 = step(ahead)
        steps += 1
        if not np.isfinite(x3).all():
            x, aux = x2, a2
            continue
        if moved(x3, ahead) < tol:
            return Fixed(x3, a3, steps, True)
        x, aux = x3, a3
    return Fixed(x, aux, steps, False)


def _feasible_point(x: Vector, r: Vector, v: Vector, alpha: float) -> Vector | None:
    """x - 2 alpha r + alpha^2 v with every entry in [0, 1], alpha moved halfway towards
    -1 (plain EM) while it is not; None when only -1 itself would do."""
    for _ in range(BACKTRACKS):
        if alpha >= -1.0:
            return None
        ahead = x - 2.0 * alpha * r + alpha * alpha * v
        if bool((ahead >= 0.0).all() and (ahead <= 1.0).all()):
            return ahead
        alpha = (alpha - 1.0) / 2.0
    return None
