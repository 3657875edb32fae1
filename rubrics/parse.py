"""Parse a judge's raw output into a scale value, or an unscored reason.

The protocol (PRODUCT.md section 3): pointwise `{"score": v, "rationale": "..."}`,
pairwise `{"winner": "A" | "B" | "tie", ...}`. Parsing is defensive: it binds the last
JSON object that carries the expected key (saying so in `detail` when the verdicts given
disagree), skips objects copied from the judged text (`_pick` says what counts as a copy),
and checks the value against the scale. Anything else is unscored, never a score.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from rubrics import checklist, scan
from rubrics.copies import JudgedTexts
from rubrics.models import Mode, Rubric, ScaleValue
from rubrics.scan import Found

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
    TRUNCATED = "truncated"
    """The provider cut the answer at its token limit (`finish_reason: length`): a verdict
    in it may be one the judge was about to revise, so none is taken."""
    FILTERED = "filtered"
    """The provider's content filter stopped the answer (`finish_reason: content_filter`)."""


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


def json_objects(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Every top-level JSON object in `text`, in order, with its source text."""
    return [(text[f.start : f.end], f.obj) for f in scan.objects(text)]


def _said(src: str, key: str) -> list[Any]:
    """The values one object gives `key`, in order: more than one when the key repeats."""
    pairs: list[list[tuple[str, Any]]] = []

    def keep(given: list[tuple[str, Any]]) -> dict[str, Any]:
        pairs.append(given)
        return dict(given)

    json.loads(src, object_pairs_hook=keep)  # the outermost object comes last
    return [v for k, v in pairs[-1] if k == key]


def _disagreement(rubric: Rubric, key: str, text: str, verdicts: Sequence[Found]) -> str:
    """What the verdict objects say when they do not all say the same, else ""."""
    said = [(f, v) for f in verdicts for v in _said(text[f.start : f.end], key)]

    def same(v: object) -> str:
        on = coerce(rubric, v) if rubric.mode is not Mode.CHECKLIST else None
        return json.dumps(v if on is None else on, sort_keys=True)

    if len({same(v) for _, v in said}) < 2:
        return ""
    shown = [json.dumps(v)[:40] for _, v in said]
    if len(shown) > 6:
        shown = [*shown[:3], "...", *shown[-2:]]
    note = f"{len(said)} verdicts given ({', '.join(shown)})"
    if len(said) > len({id(f) for f, _ in said}):
        note += f", {key!r} repeated within one object"
    return note


def _pick(
    rubric: Rubric, key: str, text: str, keyed: Sequence[Found], judged: Sequence[str]
) -> tuple[Found | None, str]:
    """The verdict object the judge wrote itself (None when there is none), and a note.

    An object a judged text holds is passed over when the judge gives one of its own. When
    it gives none, one with more than the verdict key is a copy (an honest rationale does
    not match the judged text byte for byte), and a bare one only when its surroundings are
    echoed too (`rubrics.copies`): refusing every bare match would let the text's writer
    discard the honest votes of its choice by planting their bytes. Conflicting bare ones
    are refused: which is the judge's own cannot be told, and binding the last would hand
    the vote of a judge that quotes the text after concluding to the text's writer.
    """
    judged_texts = JudgedTexts(text, judged)
    own = [f for f in keyed if not judged_texts.holds(f)]
    if own:
        split = _disagreement(rubric, key, text, own)
        return own[-1], f"{split}: the last taken" if split else ""
    bare = [f for f in keyed if len(f.obj) == 1 and not judged_texts.echoed(f)]
    if not bare:
        return None, "each verdict JSON is in the judged text, with more or with text around it"
    split = _disagreement(rubric, key, text, bare)
    if split:
        return None, f"{split}, each also in the judged text: the judge's own cannot be told"
    return bare[-1], "the judged text holds this bare verdict too, not the text around it: kept"


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
    scope = ""  # said in every detail when the tail rule cut the output
    if len(text) < len(output):
        scope = f" in the last {len(text):,} characters of a {len(output):,}-character output"
    key = {Mode.PAIRWISE: "winner", Mode.CHECKLIST: "answers"}.get(rubric.mode, "score")
    objects = scan.objects(text)
    if not objects:
        return ParsedVerdict(
            value=None, unscored=Unscored.NO_JSON, detail=f"no JSON object found{scope}"
        )
    keyed = [f for f in objects if key in f.obj]
    if not keyed:
        return ParsedVerdict(
            value=None, unscored=Unscored.MISSING_KEY, detail=f"no JSON object{scope} has {key!r}"
        )
    chosen, note = _pick(rubric, key, text, keyed, judged)
    note = "; ".join(n for n in (note, scope and f"verdict sought{scope}") if n)
    if chosen is None:
        return ParsedVerdict(value=None, unscored=Unscored.COPIED, detail=note)
    obj = chosen.obj
    rationale = obj.get("rationale")
    rationale = str(rationale)[:MAX_RATIONALE_CHARS] if rationale is not None else None
    if rubric.mode is Mode.CHECKLIST:
        return _checklist(rubric, obj[key], rationale, note)
    value = coerce(rubric, obj[key])
    if value is None:
        shown = json.dumps(obj[key])[:80]
        return ParsedVerdict(
            value=None,
            rationale=rationale,
            unscored=Unscored.OFF_SCALE,
            detail="; ".join(n for n in (f"{key} {shown} is not on the scale", note) if n),
        )
    return ParsedVerdict(value=value, rationale=rationale, detail=note)


def _checklist(rubric: Rubric, given: object, rationale: str | None, note: str) -> ParsedVerdict:
    """A checklist answer: per-question answers, and the vote's overall value from them."""
    answers, problems = checklist.read_answers(rubric, given)
    value = checklist.overall(rubric, answers)
    if value is None:
        problems = problems or ["a required question has no usable answer"]
    detail = "; ".join([*problems, note] if note else problems)
    if value is None:
        return ParsedVerdict(
            value=None,
            rationale=rationale,
            unscored=Unscored.INCOMPLETE,
            detail=detail,
            answers=answers if isinstance(given, dict) else None,
        )
    return ParsedVerdict(value=value, rationale=rationale, detail=detail, answers=answers)
