"""Position-bias correction for pairwise votes.

Each judge sees (A, B) and (B, A). Its two canonical verdicts are reconciled into one:
the same answer in both orders is a consistent vote; different answers make the judge
inconsistent and its vote a tie. A judge with only one usable order keeps that vote, but
its consistency is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from judges import Vote
from rubrics import ScaleValue


class JudgeVerdict(BaseModel):
    """One judge's verdict on an item after reconciling presentation orders."""

    model_config = ConfigDict(frozen=True)

    judge: str
    value: ScaleValue | None
    """Canonical value; None when no call of this judge gave a usable vote."""
    consistent: bool | None = None
    """Pairwise: both orders agreed (True), disagreed (False), or could not be compared."""
    first_position_won: bool | None = None
    """Pairwise, inconsistent judges only: whether both orders picked the response shown first."""


def reconcile(votes: Sequence[Vote]) -> tuple[JudgeVerdict, ...]:
    """One verdict per judge, in first-seen judge order."""
    by_judge: dict[str, list[Vote]] = {}
    for vote in votes:
        by_judge.setdefault(vote.judge, []).append(vote)
    out = []
    for judge, own in by_judge.items():
        usable = [v for v in own if v.usable]
        if not usable:
            out.append(JudgeVerdict(judge=judge, value=None))
            continue
        if len(usable) == 1 or all(v.order is None for v in usable):
            out.append(JudgeVerdict(judge=judge, value=usable[0].value))
            continue
        values = {v.value for v in usable}
        if len(values) == 1:
            out.append(JudgeVerdict(judge=judge, value=usable[0].value, consistent=True))
            continue
        shown = {v.shown_value for v in usable}
        out.append(
            JudgeVerdict(
                judge=judge,
                value="tie",
                consistent=False,
                first_position_won=shown == {"A"} if len(shown) == 1 else None,
            )
        )
    return tuple(out)


def consistency_rate(verdicts: Sequence[JudgeVerdict]) -> float | None:
    """Share of comparable judges that were position-consistent; None if none comparable."""
    known = [v.consistent for v in verdicts if v.consistent is not None]
    if not known:
        return None
    return sum(known) / len(known)
