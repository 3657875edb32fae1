"""Parse a judge's raw output into a scale value, or an unscored reason.

The protocol (PRODUCT.md section 3): pointwise `{"score": v, "rationale": "..."}`,
pairwise `{"winner": "A" | "B" | "tie", ...}`. Parsing is defensive: it binds the last
JSON object that carries the expected key, skips objects that were copied from the judged
text, and checks the value against the scale. Anything else is unscored, never a score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from rubrics import checklist
from rubrics.models import Mode, Rubric, ScaleValue

MAX_PARSED_CHARS = 65_536
"""Outputs longer than this are parsed from their tail only."""
MAX_RATIONALE_CHARS = 4_000


class Unscored(StrEnum):
    """Why a vote has no value. A bounded set: it labels metrics."""

    EMPTY = "empty"
    NO_JSON = "no_json"
    MISSING_KEY = "missing_key"
    OFF_SCALE = "off_scale"
    COPIED = "copied_from_input"
    MISSING_INPUT = "missing_input"
    """A juror needs an input field the item lacks (an embedding juror's reference)."""
    INCOMPLETE = "incomplete"
    """Checklist: a required question has no usable answer, so the vote has no overall value."""


class ParsedVerdict(BaseModel):
    """A judge's answer as parsed: a value on the scale, or an unscored reason."""

    model_config = ConfigDict(frozen=True)

    value: ScaleValue | None
    """The scale value, in the frame shown to the judge (pairwise: A = shown first)."""
    rationale: str | None = None
    unscored: Unscored | None = None
    detail: str = ""
    """A short human-readable explanation when unscored."""
    answers: dict[str, str | None] | None = None
    """Checklist: each question's answer (yes, no, n/a), None where it is unscored."""

    @property
    def usable(self) -> bool:
        return self.unscored is None and self.value is not None


_WS = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _WS.sub("", text)


def json_objects(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Every top-level JSON object in `text`, in order, with its source text."""
    decoder = json.JSONDecoder()
    found: list[tuple[str, dict[str, Any]]] = []
    i = text.find("{")
    while i != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
        except (json.JSONDecodeError, RecursionError):  # a nesting bomb is not JSON either
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            found.append((text[i:end], obj))
        i = text.find("{", end)
    return found


def coerce(rubric: Rubric, raw: object) -> ScaleValue | None:
    """Map a JSON value onto the rubric's scale, or None when it is not on it."""
    if rubric.mode is Mode.PAIRWISE:
        if isinstance(raw, str):
            key = raw.strip().lower()
            return {"a": "A", "b": "B", "tie": "tie"}.get(key)
        return None
    for v in rubric.scale:
        if isinstance(v, bool):
            if isinstance(raw, bool) and raw is v:
                return v
            if isinstance(raw, str) and raw.strip().lower() == ("true" if v else "false"):
                return v
        elif isinstance(v, int):
            if isinstance(raw, bool):
                continue
            if isinstance(raw, int | float) and raw == v:
                return v
            if isinstance(raw, str) and raw.strip() == str(v):
                return v
        elif isinstance(raw, str) and raw.strip().lower() == v.lower():
            return v
    return None


def exact(rubric: Rubric, raw: object) -> ScaleValue | None:
    """The scale value `raw` is, when it is one exactly: the same JSON type and value, as a
    person or program deciding must send it. No coercion: `"5"` and `4.0` are not 5,
    `"PASS"` is not `pass`, `true` is not 1 (a judge's output goes through `coerce`)."""
    for v in rubric.scale:
        if type(raw) is type(v) and raw == v:
            return v
    return None


def parse_verdict(rubric: Rubric, output: str | None, judged: Sequence[str] = ()) -> ParsedVerdict:
    """Parse one judge output. `judged` are the texts shown to the judge as data."""
    if output is None or not output.strip():
        return ParsedVerdict(value=None, unscored=Unscored.EMPTY, detail="empty output")
    text = output[-MAX_PARSED_CHARS:]
    key = {Mode.PAIRWISE: "winner", Mode.CHECKLIST: "answers"}.get(rubric.mode, "score")
    objects = json_objects(text)
    if not objects:
        return ParsedVerdict(value=None, unscored=Unscored.NO_JSON, detail="no JSON object found")
    keyed = [(src, obj) for src, obj in objects if key in obj]
    if not keyed:
        return ParsedVerdict(
            value=None, unscored=Unscored.MISSING_KEY, detail=f"no JSON object has {key!r}"
        )
    squashed = [_squash(t) for t in judged]
    own = [(src, obj) for src, obj in keyed if not any(_squash(src) in t for t in squashed)]
    if not own:
        return ParsedVerdict(
            value=None,
            unscored=Unscored.COPIED,
            detail="the only verdict JSON appears in the judged text",
        )
    _, obj = own[-1]
    rationale = obj.get("rationale")
    rationale = str(rationale)[:MAX_RATIONALE_CHARS] if rationale is not None else None
    if rubric.mode is Mode.CHECKLIST:
        return _checklist(rubric, obj[key], rationale)
    value = coerce(rubric, obj[key])
    if value is None:
        shown = json.dumps(obj[key])[:80]
        return ParsedVerdict(
            value=None,
            rationale=rationale,
            unscored=Unscored.OFF_SCALE,
            detail=f"{key} {shown} is not on the scale",
        )
    return ParsedVerdict(value=value, rationale=rationale)


def _checklist(rubric: Rubric, given: object, rationale: str | None) -> ParsedVerdict:
    """A checklist answer: per-question answers, and the vote's overall value from them."""
    answers, problems = checklist.read_answers(rubric, given)
    value = checklist.overall(rubric, answers)
    detail = "; ".join(problems)
    if value is None:
        return ParsedVerdict(
            value=None,
            rationale=rationale,
            unscored=Unscored.INCOMPLETE,
            detail=detail or "a required question has no usable answer",
            answers=answers if isinstance(given, dict) else None,
        )
    return ParsedVerdict(value=value, rationale=rationale, detail=detail, answers=answers)
