"""Checklist rubrics: the question order, the judge's instructions, and the parse of its
answers.

A checklist's questions are answered in one call, as `{"answers": {"q1": "yes", ...},
"rationale": "..."}`. Small judges change their answers with the order the questions
come in, so each call shows them in its own order, drawn from a seed (the evaluation id)
and the judge's name: the same evaluation and judge always see the same order, and the
order is recorded with the vote. Parsing is per question: an answer that is missing or
not one of the question's allowed values makes that question unscored for that vote,
and leaves the others as they are.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence

from rubrics.models import Rubric
from rubrics.question import NA, NO, YES, Question

_ALIASES = {
    "yes": YES,
    "y": YES,
    "true": YES,
    "no": NO,
    "n": NO,
    "false": NO,
    "n/a": NA,
    "na": NA,
    "n.a.": NA,
    "not applicable": NA,
}


def permutation(rubric: Rubric, seed: str, judge: str) -> tuple[str, ...]:
    """The question ids in the order one judge is shown them: reproducible from
    (`seed`, `judge`, the rubric's id and version), different across judges and seeds."""
    digest = hashlib.sha256(f"{seed}\x00{judge}\x00{rubric.key}".encode()).digest()
    ids = [q.id for q in rubric.questions]
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(ids)
    return tuple(ids)


def ordered(rubric: Rubric, order: Sequence[str] | None) -> list[Question]:
    """The rubric's questions in `order` (the rubric's own order when None)."""
    if order is None:
        return list(rubric.questions)
    by_id = {q.id: q for q in rubric.questions}
    return [by_id[i] for i in order]


def questions_block(rubric: Rubric, order: Sequence[str] | None) -> str:
    """The questions as the judge reads them, in the order shown."""
    lines = ["Questions (answer every one):"]
    for q in ordered(rubric, order):
        allowed = "yes, no or n/a (does not apply)" if q.na else "yes or no"
        lines.append(f'- "{q.id}": {q.text.strip()} ({allowed})')
    marked = ", ".join(f'"{q.id}"' for q in rubric.questions if q.required)
    lines.append(f"Required questions: {marked}. The response passes when each is yes or n/a.")
    for value in rubric.scale:
        anchor = rubric.anchors.get(str(value))
        if anchor:
            lines.append(f'Overall "{value}": {anchor.strip()}')
    return "\n".join(lines)


def answer_format(rubric: Rubric, order: Sequence[str] | None) -> str:
    """The JSON the judge must answer with, its keys in the order shown."""
    parts = []
    for q in ordered(rubric, order):
        options = " | ".join(json.dumps(a) for a in q.answers)
        parts.append(f"{json.dumps(q.id)}: {options}")
    return '{"answers": {' + ", ".join(parts) + '}, "rationale": "<one or two sentences>"}'


def answer(question: Question, raw: object) -> str | None:
    """One raw JSON answer as yes/no/n/a, or None when it is not an allowed answer."""
    if isinstance(raw, bool):
        return YES if raw else NO
    if not isinstance(raw, str):
        return None
    value = _ALIASES.get(raw.strip().lower())
    if value is None or value not in question.answers:
        return None
    return value


def read_answers(rubric: Rubric, given: object) -> tuple[dict[str, str | None], list[str]]:
    """Per question: the allowed answer, or None (unscored); and what was wrong, per
    question, for the vote's detail."""
    answers: dict[str, str | None] = {}
    problems: list[str] = []
    mapping = given if isinstance(given, dict) else {}
    if not isinstance(given, dict):
        problems.append("answers is not a JSON object")
    for q in rubric.questions:
        if q.id not in mapping:
            answers[q.id] = None
            if isinstance(given, dict):
                problems.append(f"{q.id}: no answer")
            continue
        value = answer(q, mapping[q.id])
        answers[q.id] = value
        if value is None:
            shown = json.dumps(mapping[q.id])[:40]
            problems.append(f"{q.id}: {shown} is not one of {list(q.answers)}")
    return answers, problems


def overall(rubric: Rubric, answers: dict[str, str | None]) -> str | None:
    """One vote's overall value: fail when a required question is answered no, pass when
    every required one is yes or n/a, None when a required answer is missing."""
    required = [answers.get(q.id) for q in rubric.questions if q.required]
    if NO in required:
        return "fail"
    if None in required:
        return None
    return "pass"
