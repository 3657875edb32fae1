"""The hot path stores votes from plain column dicts (Core insert, no ORM object): they
must name every column of the table, so that a new column cannot silently go NULL, and
every field of `judges.Vote` (the one definition of a vote) must have its column."""

from __future__ import annotations

from api.schemas import VotePublic
from api.services.records import vote_values
from api.store.evaluations import VOTES
from api.store.tables import utcnow
from judges import Vote
from judges.errors import CallErrorKind


def test_vote_values_cover_every_column_but_the_id() -> None:
    vote = Vote(judge="j", model="openai/m", error=CallErrorKind.TIMEOUT, detail="late")
    values = vote_values("e" * 32, vote, {"temperature": 0}, utcnow())
    assert set(values) == {c.name for c in VOTES.columns} - {"id"}
    assert values["error"] == "timeout" and values["value"] is None
    assert values["params"] == {"temperature": 0}


def test_every_vote_field_is_stored_and_the_answer_shows_only_vote_fields() -> None:
    row_only = {"id", "evaluation_id", "params", "created_at"}
    assert set(Vote.model_fields) == {c.name for c in VOTES.columns} - row_only
    assert set(VotePublic.model_fields) <= set(Vote.model_fields)
