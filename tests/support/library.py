"""Rubrics for the statistics tests: the shipped library, loaded once, and an unordered one."""

from __future__ import annotations

from routing import Aggregation
from rubrics import LIBRARY_DIR, Rubric, load_rubrics

LIB = load_rubrics([LIBRARY_DIR])
HELPFULNESS = LIB["helpfulness"]  # 1..5, numeric, ordinal
SAFETY = LIB["safety"]  # fail, pass: ordinal, not numeric
PAIRWISE = LIB["pairwise-preference"]  # A, B, tie: neither
COLOURS = Rubric.model_validate(
    {
        "id": "colour",
        "version": 1,
        "description": "Which colour?",
        "mode": "pointwise",
        "scale": ["red", "green", "blue"],
        "criteria": "Name it.",
        "ordinal": False,
    }
)
"""A nominal scale: three colours in no order."""
MAJORITY, WEIGHTED, MEAN, MEDIAN = (
    Aggregation.MAJORITY,
    Aggregation.WEIGHTED,
    Aggregation.MEAN,
    Aggregation.MEDIAN,
)
