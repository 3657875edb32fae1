"""What one reader of a review item sees: blind review and other reviewers' names.

Blindness is decided here for every answer of the review API (an item, a list, a claim,
a decision, a release), from who reads, never from what the request says about them:

- an admin key sees everything: votes, the panel's verdict, every decision, every name;
- a reviewer who has not decided an item of a blind panel sees a blind view (`blinded`):
  of the evaluation only the fields listed in `SHOWN` (the input, rubric, panel, status,
  timestamps...); everything else, the votes, verdict, winner, confidence, agreement,
  judge verdicts, checklist questions and routing, is emptied (`HIDDEN`), as are the
  item's uncertainty and routing reasons; stage and how many reviews are done stay;
- a claim whose lease ran out reads as pending, claimed by nobody (`status_at`);
- a reviewer sees other reviewers' decisions only once the item is decided, and then
  without their names ("reviewer 1", "reviewer 2", in decision order); `claimed_by` is
  the reader's own name or "another reviewer". Open mode (no keys) shows names: anyone
  can send any name there anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.auth import Principal
from api.schemas import EvaluationPublic, ReviewDecisionPublic, ReviewItemPublic, RubricPublic
from api.services.review_view import shown_order, visible_decisions
from api.store.reviews import status_at
from api.store.tables import ReviewDecisionRow, ReviewItemRow, utcnow

ANOTHER = "another reviewer"
SHOWN: frozenset[str] = frozenset(
    {
        "id",
        "kind",
        "panel",
        "rubric",
        "status",
        "review_id",
        "jury_version",
        "assessment_id",
        "subject",
        "use_case",
        "error",
        "webhook_url",
        "input",
        "metadata",
        "created_at",
        "completed_at",
    }
)
"""The evaluation fields a blind view keeps: what was judged and when, nothing of the
panel's opinion. A field not listed here is hidden (`blinded` builds the view from this
list), and tests/api/test_review_blind.py fails on a field of `EvaluationPublic` that is
neither here nor in `HIDDEN`."""
HIDDEN: dict[str, Any] = {
    "verdict": None,
    "winner": None,
    "confidence": None,
    "agreement": None,
    "routing": None,
    "judges": [],
    "votes": [],
    "questions": [],
    "idempotency_key": None,
}
"""The evaluation fields a blind view empties, with the empty value each gets: the panel's
opinion (verdict, votes, per-question answers...), and the idempotency key, with which the
same request sent again would be answered with the stored evaluation whole."""


def blinded(evaluation: EvaluationPublic) -> EvaluationPublic:
    """`evaluation` as a blind reader sees it: the `SHOWN` fields, the `HIDDEN` ones empty."""
    kept = {name: getattr(evaluation, name) for name in SHOWN}
    return EvaluationPublic.model_validate({**kept, **HIDDEN})


@dataclass(frozen=True)
class Reader:
    """Who reads a review item."""

    name: str | None
    """The reviewer reading; None: unknown (open mode, no name given)."""
    admin: bool = False
    """Sees everything, blind or not."""
    names: bool = False
    """Sees other reviewers' names (admins; open mode)."""


def reader(who: Principal, asserted: str | None) -> Reader:
    """The reader behind a request: the key's principal (a `reviewer` sent must be that
    name, 403 otherwise), or in open mode the name sent, if any."""
    if who.open:
        return Reader(asserted, names=True)
    return Reader(who.reviewer(asserted), admin=who.admin, names=who.admin)


@dataclass(frozen=True)
class Actor(Reader):
    """Who claims, decides or releases: always a named reviewer."""

    name: str = ""


def actor(who: Principal, asserted: str | None) -> Actor:
    """The reviewer a claim, decision or release is recorded as: the key's name (a
    `reviewer` sent must be it, 403 otherwise); in open mode the name sent (422 without)."""
    return Actor(who.reviewer(asserted), admin=who.admin, names=who.open or who.admin)


def claimant(row: ReviewItemRow, by: Reader) -> str | None:
    """`claimed_by` as `by` may see it."""
    if row.claimed_by is None or by.names or row.claimed_by == by.name:
        return row.claimed_by
    return ANOTHER


def state(row: ReviewItemRow, by: Reader) -> str:
    """Why a decision or release by `by` cannot consume a claim on `row`, for the 409."""
    if row.status == "decided":
        return "already decided: it takes no more decisions"
    if row.status == "claimed":
        return f"claimed by {claimant(row, by)!r}"
    return "not claimed; claim it first"


def view(
    row: ReviewItemRow,
    evaluation: EvaluationPublic,
    decisions: Sequence[ReviewDecisionRow],
    rubric: RubricPublic | None,
    blind_panel: bool,
    by: Reader,
    pairwise: bool = False,
) -> ReviewItemPublic:
    """The review item as `by` sees it (`evaluation`: the full evaluation). Of the other
    reviewers' decisions `by` sees what `review_view.visible_decisions` allows (an admin:
    all); a pairwise item comes with the order `by` is shown its responses in."""
    mine = by.name is not None and any(d.reviewer == by.name for d in decisions)
    reveal = by.admin or not blind_panel or row.status == "decided" or mine
    if not reveal:
        evaluation = blinded(evaluation)
    shown = (
        list(decisions)
        if by.admin
        else visible_decisions(decisions, row.status, row.stage, by.name)
    )
    order = list(dict.fromkeys(d.reviewer for d in decisions))
    status = status_at(row, utcnow())
    held = status == row.status  # else a lapsed claim: pending, held by nobody

    def who(name: str) -> str:
        return name if by.names or name == by.name else f"reviewer {order.index(name) + 1}"

    return ReviewItemPublic(
        id=row.id,
        evaluation_id=row.evaluation_id,
        panel=row.panel,
        status=status,
        stage=row.stage,
        uncertainty=row.uncertainty if reveal else None,
        reasons=row.reasons if reveal else [],
        required_reviews=row.required_reviews,
        reviews_done=sum(1 for d in decisions if d.stage == "review"),
        claimed_by=claimant(row, by) if held else None,
        lease_until=row.lease_until if held else None,
        final_value=row.final_value,
        decided_at=row.decided_at,
        created_at=row.created_at,
        blind=not reveal,
        rubric=rubric,
        evaluation=evaluation,
        decisions=[
            ReviewDecisionPublic(
                reviewer=who(d.reviewer),
                stage=d.stage,
                value=d.value,
                comment=d.comment,
                as_admin=d.as_admin,
                shown_order=d.shown_order,
                created_at=d.created_at,
            )
            for d in shown
        ],
        shown_order=shown_order(row.id, by.name) if pairwise and by.name else None,
    )
