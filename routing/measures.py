"""Which agreement measure fits a rubric: one choice, used online (`/agreement`, the
gauges) and offline (the backtest), so both report the same statistic for one rubric.

- Ordinal scales with more than two values (1-5 ratings): Cohen's kappa with quadratic
  weights (a 4 against a 5 is a smaller disagreement than a 1 against a 5) and
  Krippendorff's alpha at the ordinal level. Ordinal, not interval, because nothing says
  the steps between rating anchors are equal; quadratic kappa is the customary
  chance-corrected statistic for such ratings (Fleiss & Cohen 1973).
- Everything else (fail/pass, true/false, A/B/tie, unordered categories, and any scale
  with an `n/a` value): unweighted kappa and nominal alpha. With two categories the
  ordinal and nominal forms coincide.
"""

from __future__ import annotations

from routing.kappa import Weighting
from routing.krippendorff import Level
from rubrics import Rubric


def graded(rubric: Rubric) -> bool:
    """An ordered scale with more than two values, and no not-applicable value (n/a is a
    category of its own, equally far from every other: a distance to it means nothing)."""
    return rubric.ordinal and len(rubric.scale) > 2 and rubric.not_applicable is None


def weighting_for(rubric: Rubric) -> Weighting:
    """Cohen's kappa weights for the rubric: quadratic for graded scales, none otherwise."""
    return "quadratic" if graded(rubric) else "none"


def level_for(rubric: Rubric) -> Level:
    """Krippendorff's alpha level for the rubric: ordinal for graded scales, else nominal."""
    return "ordinal" if graded(rubric) else "nominal"
