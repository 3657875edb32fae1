"""What is judged: rubrics, the judged item, prompt rendering and verdict parsing."""

from rubrics.errors import RubricError, RubricLoadError
from rubrics.escape import escape
from rubrics.item import Item, ItemError, Turn, item_from
from rubrics.loader import LIBRARY_DIR, load_rubric, load_rubrics
from rubrics.models import (
    PAIRWISE_SCALE,
    CompliantMin,
    CompliantValues,
    Mode,
    Rubric,
    ScaleValue,
    Standard,
    value_key,
)
from rubrics.parse import ParsedVerdict, Unscored, coerce, exact, parse_verdict
from rubrics.prompt import Message, Order, RenderedPrompt, render

__all__ = [
    "LIBRARY_DIR",
    "PAIRWISE_SCALE",
    "CompliantMin",
    "CompliantValues",
    "Item",
    "ItemError",
    "Message",
    "Mode",
    "Order",
    "ParsedVerdict",
    "RenderedPrompt",
    "Rubric",
    "RubricError",
    "RubricLoadError",
    "ScaleValue",
    "Standard",
    "Turn",
    "Unscored",
    "coerce",
    "escape",
    "exact",
    "item_from",
    "load_rubric",
    "load_rubrics",
    "parse_verdict",
    "render",
    "value_key",
]
