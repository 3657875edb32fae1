"""Query parameters shared by the endpoints that list or export judged items: times,
the subject model and the governance use case."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator

from api.schemas import USE_CASE_PATTERN


def _iso_only(value: Any) -> Any:
    """Refuse what pydantic would read as a Unix timestamp ("0.625"): the schema says
    date-time, and a number here is almost always a mistake."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T00:00:00Z")
    return value


def _in_utc_range(value: datetime) -> datetime:
    """Refuse a time that has no UTC equivalent (0001-01-01T00:00+14:00 is in year 0):
    the store keeps every time in UTC."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("date-time out of range once converted to UTC") from None
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_in_utc_range)]
SubjectModel = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=256,
        description="Only items whose `subject.model` (the production model that wrote "
        "the judged response) is this",
    ),
]
UseCase = Annotated[
    str | None,
    Query(
        pattern=USE_CASE_PATTERN,
        description="Only items whose governance `use_case` label is this",
    ),
]
