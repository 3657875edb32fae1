"""A checklist panel's verdict: each question aggregated like a yes/no pointwise item,
then the criterion from its required questions.

Per question, every vote that came back with a usable answer to it counts (a vote whose
answer to another question was malformed still counts here): the answers are aggregated,
and their agreement and confidence measured, exactly as a pointwise item on the scale
`no, yes` (`no, yes, n/a` where the question allows n/a), with the panel's aggregation
and weights. The criterion is `pass` when every required question's verdict is yes or
n/a, `fail` when one is no, and has no value while a required question has none. It is
as sure as its least sure required question: its confidence is their minimum, and the
agreement it is routed on takes, field by field, the weakest required question (fewest
usable answers, lowest P_i, smallest margin).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from judges import Vote
from routing.aggregate import Aggregation, aggregate
from routing.agreement import ItemAgreement, item_agreement
from routing.confidence import confidence
from routing.position import JudgeVerdict, reconcile
from rubrics import CompliantValues, Mode, Rubric
from rubrics.question import NO, Question


class QuestionVerdict(BaseModel):
    """The panel's answer to one checklist question."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    required: bool
    value: str | None
    """yes, no or n/a; None without a usable answer."""
    passed: bool | None
    """yes or n/a passes; None without a value."""
    confidence: float
    agreement: ItemAgreement
    distribution: dict[str, float]
    """Share of (weighted) usable answers per answer."""
    answers: dict[str, str | None]
    """Each judge's answer (None: unscored for that judge)."""


def question_rubric(rubric: Rubric, question: Question) -> Rubric:
    """The yes/no (or yes/no/n/a) pointwise rubric one question is aggregated on."""
    return Rubric(
        id=rubric.id,
        version=rubric.version,
        description=question.text,
        mode=Mode.POINTWISE,
        scale=question.answers,
        criteria=question.text,
        compliant=CompliantValues(values=tuple(a for a in question.answers if a != NO)),
        ordinal=not question.na,
    )


def judge_answers(
    votes: Sequence[Vote], question_id: str
) -> tuple[dict[str, str | None], list[tuple[str, str]]]:
    """Each judge's answer to one question (first usable answer per judge) and the
    (judge, answer) pairs that count."""
    answers: dict[str, str | None] = {}
    for v in votes:
        got = v.answers.get(question_id) if v.answers and v.error is None else None
        if answers.get(v.judge) is None:
            answers[v.judge] = got
    return answers, [(j, a) for j, a in answers.items() if a is not None]


def judge_question(
    rubric: Rubric,
    question: Question,
    votes: Sequence[Vote],
    aggregation: Aggregation,
    weights: Mapping[str, float],
) -> QuestionVerdict:
    """One question's verdict, agreement and confidence over the panel's answers."""
    qrubric = question_rubric(rubric, question)
    answers, usable = judge_answers(votes, question.id)
    pairs = [(a, weights.get(j, 1.0)) for j, a in usable]
    tally = aggregate(qrubric, pairs, aggregation)
    value = tally.value if isinstance(tally.value, str) else None
    return QuestionVerdict(
        id=question.id,
        text=question.text,
        required=question.required,
        value=value,
        passed=None if value is None else value != NO,
        confidence=confidence(qrubric, pairs, value, aggregation),
        agreement=item_agreement(qrubric, pairs, total_votes=len(answers)),
        distribution=tally.distribution,
        answers=answers,
    )


def criterion(questions: Sequence[QuestionVerdict]) -> str | None:
    """fail when a required question's verdict is no; pass when all are yes or n/a."""
    required = [q for q in questions if q.required]
    if any(q.passed is False for q in required):
        return "fail"
    if any(q.passed is None for q in required):
        return None
    return "pass"


def weakest(questions: Sequence[QuestionVerdict], total_votes: int) -> ItemAgreement:
    """The required questions' agreement, field by field at its weakest."""
    required = [q.agreement for q in questions if q.required]
    p_is = [a.fleiss_p_i for a in required if a.fleiss_p_i is not None]
    margins = [a.margin for a in required if a.margin is not None]
    return ItemAgreement(
        usable_votes=min(a.usable_votes for a in required),
        total_votes=total_votes,
        fleiss_p_i=min(p_is) if p_is else None,
        margin=min(margins) if margins else None,
    )


def judge_checklist(
    rubric: Rubric,
    votes: Sequence[Vote],
    aggregation: Aggregation,
    weights: Mapping[str, float],
) -> tuple[str | None, float, ItemAgreement, tuple[QuestionVerdict, ...], tuple[JudgeVerdict, ...]]:
    """The criterion's value, confidence and agreement, each question's verdict, and
    each judge's overall verdict (its own fail/pass from its required answers)."""
    if rubric.mode is not Mode.CHECKLIST:
        raise ValueError(f"rubric {rubric.key} is not a checklist")
    if aggregation not in (Aggregation.MAJORITY, Aggregation.WEIGHTED):
        raise ValueError("a checklist aggregates by majority or weighted vote")
    questions = tuple(
        judge_question(rubric, q, votes, aggregation, weights) for q in rubric.questions
    )
    value = criterion(questions)
    conf = 0.0 if value is None else min(q.confidence for q in questions if q.required)
    judged = reconcile(votes, rubric)
    return value, conf, weakest(questions, len(judged)), questions, judged
