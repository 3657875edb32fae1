"""What is judged: rubrics, the judged item, prompt rendering and verdict parsing, and the
prompt corpora a candidate model is qualified on."""

from rubrics.corpus import (
    CORPORA_DIR,
    GOVERNANCE_CORPUS,
    Category,
    Corpus,
    CorpusLoadError,
    CorpusPrompt,
    load_corpus,
    select,
)
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
    "CORPORA_DIR",
    "GOVERNANCE_CORPUS",
    "LIBRARY_DIR",
    "PAIRWISE_SCALE",
    "Category",
    "CompliantMin",
    "CompliantValues",
    "Corpus",
    "CorpusLoadError",
    "CorpusPrompt",
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
    "load_corpus",
    "load_rubric",
    "load_rubrics",
    "parse_verdict",
    "render",
    "select",
    "value_key",
]
