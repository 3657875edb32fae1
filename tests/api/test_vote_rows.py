"""The hot path stores votes from plain column dicts (Core insert, no ORM object): they
must name every column of the table, so that a new column cannot silently go NULL."""

from __future__ import annotations

from types import SimpleNamespace

from api.services.evaluator import EvaluationService
from api.store.evaluations import VOTES
from api.store.tables import utcnow
from judges import Vote
from judges.errors import CallErrorKind


def test_vote_values_cover_every_column_but_the_id() -> None:
    service = SimpleNamespace(config=SimpleNamespace(judges={}))
    vote = Vote(judge="j", model="openai/m", error=CallErrorKind.TIMEOUT, detail="late")
    values = EvaluationService._vote_values(service, "e" * 32, vote, utcnow())  # type: ignore[arg-type]
    assert set(values) == {c.name for c in VOTES.columns} - {"id"}
    assert values["error"] == "timeout" and values["value"] is None
