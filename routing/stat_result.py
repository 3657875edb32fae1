"""The contract of the agreement statistics: what a code matrix is, and what they return.

Every agreement function in `routing.kappa` and `routing.krippendorff` reads a code
matrix: items in rows, raters (judges) in columns, each cell the index of the verdict on
the rubric's scale (an integer 0..k-1, worst first) or NaN where the rater gave no usable
vote ("could not judge" is missing, never a disagreement). Negative codes are rejected,
not read as missing: NaN is the only missing marker. Each function returns one
`AgreementEstimate`; pairwise Cohen's kappa returns a `PairwiseKappa`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

CIMethod = Literal["wald", "bootstrap-percentile", "none"]


class AgreementEstimate(BaseModel):
    """One agreement coefficient (kappa or alpha) with its confidence interval."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    value: float
    """The point estimate; 1.0 is perfect agreement, 0.0 the agreement expected by chance."""
    ci_low: float
    """Lower confidence limit (NaN when no interval was requested)."""
    ci_high: float
    """Upper confidence limit (NaN when no interval was requested)."""
    confidence: float = Field(gt=0.0, lt=1.0)
    """Nominal coverage of [ci_low, ci_high], e.g. 0.95."""
    std_error: float
    """Analytic standard error (Wald) or bootstrap standard deviation; NaN without an interval."""
    n_items: int = Field(ge=1)
    """Items that entered the estimate (those with enough usable votes)."""
    n_raters: int = Field(ge=2)
    """Raters that contributed at least one usable vote to those items."""
    method: str
    """The coefficient: "cohen_kappa", "cohen_kappa[quadratic]", "fleiss_kappa",
    "krippendorff_alpha[ordinal]", ..."""
    ci_method: CIMethod
    """How the interval was computed."""
    degenerate: bool = False
    """True when chance agreement is already perfect (every usable vote in one category):
    the coefficient is 0/0 there, and is reported as 1.0 by convention."""


class PairwiseKappa(BaseModel):
    """Cohen's kappa for every pair of raters, each over the items both rated."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    n_raters: int = Field(ge=2)
    """Number of raters (columns of the code matrix)."""
    estimates: tuple[tuple[AgreementEstimate | None, ...], ...]
    """Square and symmetric: estimates[a][b] is kappa between raters a and b; None on the
    diagonal and for pairs that share no item both rated."""

    def values(self) -> NDArray[np.float64]:
        """The kappa values as an (n_raters, n_raters) array, NaN where `estimates` is None."""
        return np.array(
            [[np.nan if e is None else e.value for e in row] for row in self.estimates],
            dtype=np.float64,
        ).reshape(self.n_raters, self.n_raters)


def as_code_matrix(codes: ArrayLike, *, min_raters: int = 2) -> NDArray[np.float64]:
    """Validate a code matrix (items in rows, raters in columns) and return it as float64.

    Raises ValueError when it is not 2-D, has no items or fewer than `min_raters`
    columns, or holds a value that is not NaN and not a non-negative integer.
    """
    arr = np.asarray(codes)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(
            f"codes must be numeric (category indices, NaN for missing); got {arr.dtype}"
        )
    if arr.ndim != 2:
        raise ValueError(
            f"codes must be 2-D (items in rows, raters in columns); got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError("codes has no items (zero rows)")
    if arr.shape[1] < min_raters:
        raise ValueError(f"need at least {min_raters} raters (columns); got {arr.shape[1]}")
    out = arr.astype(np.float64)
    present = out[~np.isnan(out)]
    if not np.all(np.isfinite(present)):
        raise ValueError("codes must be finite; use NaN (not inf) for a missing vote")
    if np.any(present < 0):
        raise ValueError("codes must be non-negative scale indices; use NaN for a missing vote")
    if np.any(present != np.round(present)):
        raise ValueError("codes must be integer scale indices (0..k-1) or NaN")
    return out


def resolve_n_categories(present_max: float, n_categories: int | None) -> int:
    """The scale size: `n_categories` if given (checked against the data), else max code + 1."""
    needed = int(present_max) + 1
    if n_categories is None:
        return max(needed, 2)
    if n_categories < 2:
        raise ValueError(f"n_categories must be at least 2; got {n_categories}")
    if needed > n_categories:
        raise ValueError(f"code {needed - 1} is outside the scale 0..{n_categories - 1}")
    return n_categories


def check_interval_args(confidence: float, n_boot: int | None = None) -> None:
    """Raise ValueError unless 0 < confidence < 1 and n_boot (if given) is 0 or at least 2."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1; got {confidence}")
    if n_boot is not None and (n_boot < 0 or n_boot == 1):
        raise ValueError(f"n_boot must be 0 (no interval) or at least 2; got {n_boot}")


def bootstrap_interval(
    replicates: NDArray[np.float64], confidence: float
) -> tuple[float, float, float]:
    """Percentile interval and standard deviation of bootstrap replicates: (low, high, sd).

    NaN replicates are resamples on which the coefficient is undefined (every vote in one
    category: 0/0, which the point estimate reports as 1.0 by convention). They are left
    out: counting them as 1.0 would stretch the interval of a near-zero kappa up to 1
    (20 items with one dissenting vote: kappa -0.017, interval (-0.053, 1.0)). With fewer
    than two defined replicates the interval is NaN.
    """
    defined = replicates[~np.isnan(replicates)]
    if defined.size < 2:
        return float("nan"), float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(defined, [tail, 1.0 - tail])
    return float(low), float(high), float(np.std(defined, ddof=1))
