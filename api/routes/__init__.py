"""HTTP only: one router per resource. Routes validate, authorise and call a service;
domain errors become problem details in `api.problems`, never `HTTPException` here."""

__all__ = [
    "agreement",
    "audit",
    "batch",
    "calibration",
    "catalog",
    "docs",
    "evaluations",
    "health",
    "jury",
    "review_page",
    "reviews",
]
