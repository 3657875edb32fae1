"""A judge's probability distribution over scale values, from token log-probabilities.

Where a provider returns logprobs, the token that carries the verdict value (the last
token whose text is the parsed value) lists its top alternatives; each alternative that
names a scale value contributes exp(logprob) to that value. The result is renormalised
over the scale values found. Pure: callers pass plain (token, logprob, alternatives)
tuples, so this module knows nothing of any SDK.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from rubrics.models import Mode, Rubric, ScaleValue, value_key
from rubrics.parse import coerce

Token = tuple[str, float, Sequence[tuple[str, float]]]
"""A generated token, its logprob, and its top alternatives as (token, logprob)."""

MAX_LOGPROB = 1e-6
"""The largest log-probability taken (0, with room for a provider's rounding)."""
MAX_MASS = 1.01
"""The most the alternatives of one token may add up to (1, with room for rounding)."""


class ScoreDistribution(BaseModel):
    """Probabilities over scale values, with the figures derived from them."""

    model_config = ConfigDict(frozen=True)

    probs: dict[str, float]
    """Probability per scale value (keyed by value text); sums to 1."""
    expected: float | None
    """Expected scale position (0 = worst) on ordinal scales."""
    entropy: float
    """Shannon entropy in nats, normalised by log(scale size): 0 certain, 1 uniform."""


def _clean(token: str) -> str:
    return token.strip().strip('"').strip("'").strip()


def distribution(
    rubric: Rubric, tokens: Sequence[Token], shown: ScaleValue | None
) -> ScoreDistribution | None:
    """The distribution behind the verdict `shown` (the value as the judge gave it)."""
    if shown is None or not tokens:
        return None
    target = value_key(shown).lower()
    position = None
    for i in range(len(tokens) - 1, -1, -1):
        if _clean(tokens[i][0]).lower() == target:
            position = i
            break
    if position is None:
        return None
    token, logprob, alternatives = tokens[position]
    candidates = list(alternatives)
    if token not in {alt for alt, _ in candidates}:  # some providers omit the chosen token
        candidates.append((token, logprob))
    if not all(lp <= MAX_LOGPROB for _, lp in candidates):  # NaN too
        return None  # a logprob above 0 is no probability (-inf is probability 0)
    if sum(math.exp(lp) for lp in dict(candidates).values()) > MAX_MASS:
        return None  # alternatives of one token that add up to more than 1: no distribution
    mass: dict[str, float] = {}
    for alt, lp in candidates:
        value = coerce(rubric, _clean(alt))
        if value is not None:
            mass[value_key(value)] = mass.get(value_key(value), 0.0) + math.exp(lp)
    total = sum(mass.values())
    if total <= 0:
        return None
    probs = {k: v / total for k, v in mass.items()}
    expected = None
    if rubric.ordinal and rubric.mode is Mode.POINTWISE:
        expected = sum(p * (rubric.scale.index(_value(rubric, k))) for k, p in probs.items())
    h = -sum(p * math.log(p) for p in probs.values() if p > 0)
    return ScoreDistribution(
        probs=probs, expected=expected, entropy=h / math.log(len(rubric.scale))
    )


def _value(rubric: Rubric, key: str) -> ScaleValue:
    return next(v for v in rubric.scale if value_key(v) == key)
