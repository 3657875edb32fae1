"""What one reviewer is shown of a review item besides the evaluation: the other reviewers'
decisions they may see, and the order of a pairwise item's two responses. Pure.

Blind review hides the judges (`api.services.reviews`); these rules are about the humans.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from api.store.tables import ReviewDecisionRow
from rubrics import Order


def visible_decisions(
    decisions: Sequence[ReviewDecisionRow], status: str, stage: str, reviewer: str | None
) -> list[ReviewDecisionRow]:
    """The decisions `reviewer` may see: their own; once the review stage is over
    (`adjudication`), every review-stage decision, so the adjudicator sees the conflict
    (values, comments, who) whatever `blind_review` says; all of them once decided.

    Independent reviews stay independent: while the item is in the review stage, nobody
    sees another reviewer's decision.
    """
    return [
        d
        for d in decisions
        if status == "decided"
        or d.reviewer == reviewer
        or (stage == "adjudication" and d.stage == "review")
    ]


def shown_order(item_id: str, reviewer: str) -> Order:
    """The order to show a pairwise item's responses to `reviewer`: `AB` (response_a first)
    or `BA`, drawn from a hash of the item and the reviewer, so it is the same on every
    load and across replicas, and each order goes to about half the (item, reviewer) pairs:
    humans have position bias too, and a fixed order would hide it in the verdicts."""
    digest = hashlib.sha256(f"{item_id}\n{reviewer}".encode()).digest()
    return "BA" if digest[0] & 1 else "AB"
