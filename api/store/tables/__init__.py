"""Database tables (SQLModel), one module per area. Schema changes go through Alembic
(`api/store/migrations`); importing this package registers every table on
`SQLModel.metadata`."""

from api.store.tables._columns import UTCDateTime, utcnow
from api.store.tables.access import ApiKeyRow, AuditEventRow, WebhookDeliveryRow
from api.store.tables.evaluations import (
    DRIFT_UNREAD,
    EvaluationRow,
    VoteCacheRow,
    VoteRow,
    WindowCountRow,
)
from api.store.tables.fits import CalibrationRow, JuryModelRow
from api.store.tables.governance import (
    AssessmentRow,
    DriftEventRow,
    DriftMonitorRow,
    GovernanceCursorRow,
    ModelTransitionRow,
    ModelZoneRow,
)
from api.store.tables.reviews import ReviewDecisionRow, ReviewItemRow

__all__ = [
    "DRIFT_UNREAD",
    "ApiKeyRow",
    "AssessmentRow",
    "AuditEventRow",
    "CalibrationRow",
    "DriftEventRow",
    "DriftMonitorRow",
    "EvaluationRow",
    "GovernanceCursorRow",
    "JuryModelRow",
    "ModelTransitionRow",
    "ModelZoneRow",
    "ReviewDecisionRow",
    "ReviewItemRow",
    "UTCDateTime",
    "VoteCacheRow",
    "VoteRow",
    "WebhookDeliveryRow",
    "WindowCountRow",
    "utcnow",
]
