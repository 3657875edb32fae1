"""A judge's vote: what one judge said about one item, in one presentation order."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from judges.errors import CallErrorKind
from rubrics import Order, ScaleValue, Unscored


class Vote(BaseModel):
    """One judge call's outcome. Usable only with a value; otherwise `unscored` or `error`
    says why, and the vote is skipped by aggregation and statistics."""

    model_config = ConfigDict(frozen=True)

    judge: str
    model: str
    family: str | None = None
    order: Order | None = None
    """Pairwise: which response was shown first (AB = response_a first)."""
    reversed_scale: bool = False
    """Pointwise: whether the scale was listed best-first."""
    value: ScaleValue | None = None
    """The verdict in the canonical frame (pairwise: "A" means response_a, whatever the order)."""
    shown_value: ScaleValue | None = None
    """The verdict as the judge gave it, in the frame it was shown."""
    unscored: Unscored | None = None
    """Why an answer that came back could not be used as a vote."""
    error: CallErrorKind | None = None
    """Why no answer came back."""
    detail: str = ""
    rationale: str | None = None
    raw_output: str | None = None
    prompt_sha256: str = ""
    latency_ms: float = 0.0
    attempts: int = 0
    cached: bool = False
    """The answer came from the exact-duplicate cache (no call was made)."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    distribution: dict[str, float] | None = None
    """Probability of each scale value (keyed by value text, canonical frame) from logprobs,
    where the provider returns them."""
    expected: float | None = None
    """Expected scale position (0 = worst) under `distribution`, ordinal scales."""
    entropy: float | None = None
    """Normalised entropy of `distribution`: 0 certain, 1 uniform."""
    question_order: tuple[str, ...] | None = None
    """Checklist: the question ids in the order this call showed them."""
    answers: dict[str, str | None] | None = None
    """Checklist: each question's answer (yes, no, n/a), None where it is unscored; the
    vote's `value` is the overall fail/pass its required answers give."""

    @property
    def usable(self) -> bool:
        return self.value is not None and self.unscored is None and self.error is None

    @property
    def outcome(self) -> str:
        """A bounded label for metrics: ok, unscored, or the error kind."""
        if self.error is not None:
            return self.error.value
        return "unscored" if self.unscored is not None or self.value is None else "ok"


def canonical(value: ScaleValue | None, order: Order | None) -> ScaleValue | None:
    """Map a pairwise verdict from the shown frame to response_a/response_b terms."""
    if order == "BA" and value in ("A", "B"):
        return "B" if value == "A" else "A"
    return value


def canonical_probs(probs: dict[str, float], order: Order | None) -> dict[str, float]:
    """Map a pairwise distribution from the shown frame to response_a/response_b terms."""
    if order != "BA":
        return dict(probs)
    return {str(canonical(k, order)): p for k, p in probs.items()}
