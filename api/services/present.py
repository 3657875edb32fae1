"""Turn stored rows into API responses."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from api.config import PanelConfig
from api.profiles import Profile
from api.schemas import (
    AgreementPublic,
    EvaluationPublic,
    JudgePublic,
    JudgeVerdictPublic,
    JuryPublic,
    JuryWorkerPublic,
    PanelPublic,
    QuestionPublic,
    QuestionVerdictPublic,
    ReasonPublic,
    RoutingPublic,
    RubricPublic,
    RubricRef,
    SubjectPublic,
    VerdictPublic,
    VotePublic,
)
from api.schemas.assessments import ProfileCriterionPublic, ProfilePublic
from api.store.tables import AssessmentRow, EvaluationRow, ReviewItemRow, VoteRow
from judges import JudgeConfig, Vote
from routing.jury import JuryModel, describe_priors
from rubrics import Rubric

WINNERS = {"A": "a", "B": "b", "tie": "tie"}


def vote(v: VoteRow | Vote) -> VotePublic:
    """A vote as the API shows it, from its stored row or straight from the judging."""
    return VotePublic(
        judge=v.judge,
        model=v.model,
        order=v.order,
        reversed_scale=v.reversed_scale,
        value=v.value,
        distribution=v.distribution,
        expected=v.expected,
        entropy=v.entropy,
        unscored=_text(v.unscored),
        error=_text(v.error),
        detail=v.detail,
        rationale=v.rationale,
        latency_ms=v.latency_ms,
        attempts=v.attempts,
        cached=v.cached,
        prompt_tokens=v.prompt_tokens,
        completion_tokens=v.completion_tokens,
        cost_usd=v.cost_usd,
        question_order=list(v.question_order) if v.question_order is not None else None,
        answers=v.answers,
    )


def _text(value: Enum | str | None) -> str | None:
    return value.value if isinstance(value, Enum) else value


def subject(row: EvaluationRow | AssessmentRow) -> SubjectPublic | None:
    """The stored subject of an evaluation or assessment, if its request named one."""
    if row.subject_model is None:
        return None
    return SubjectPublic(model=row.subject_model, version=row.subject_version)


def evaluation(
    row: EvaluationRow, votes: Sequence[VotePublic], review: ReviewItemRow | None
) -> EvaluationPublic:
    """An evaluation as the API answers it; `votes` from `vote()`."""
    outcome: dict[str, Any] = row.outcome or {}
    weights: dict[str, float] = outcome.get("weights", {})
    verdict = None
    if row.verdict_source is not None:
        verdict = VerdictPublic(
            value=row.verdict_value,
            compliant=row.verdict_compliant,
            source=row.verdict_source,
        )
    winner = None
    if row.kind == "comparison" and verdict is not None and verdict.value is not None:
        winner = WINNERS.get(str(verdict.value))
    return EvaluationPublic(
        id=row.id,
        kind=row.kind,
        panel=row.panel,
        rubric=RubricRef(id=row.rubric_id, version=row.rubric_version),
        status=row.status,
        verdict=verdict,
        winner=winner,
        confidence=row.confidence,
        agreement=AgreementPublic(**row.agreement) if row.agreement else None,
        routing=RoutingPublic(
            decision=row.routing_decision,
            reasons=[ReasonPublic(**r) for r in row.routing_reasons or []],
        )
        if row.routing_decision
        else None,
        votes=list(votes),
        judges=[
            JudgeVerdictPublic(
                judge=j["judge"],
                value=j["value"],
                consistent=j.get("consistent"),
                weight=weights.get(j["judge"], 1.0),
            )
            for j in outcome.get("judges", [])
        ],
        questions=[QuestionVerdictPublic(**q) for q in outcome.get("questions", [])],
        review_id=review.id if review else None,
        jury_version=outcome.get("jury_version"),
        assessment_id=row.assessment_id,
        subject=subject(row),
        use_case=row.use_case,
        error=row.error,
        input=row.input,
        metadata=row.request_metadata or {},
        idempotency_key=row.idempotency_key,
        webhook_url=row.webhook_url,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def rubric(r: Rubric) -> RubricPublic:
    return RubricPublic(
        id=r.id,
        version=r.version,
        description=r.description,
        mode=r.mode.value,
        scale=list(r.scale),
        criteria=r.criteria,
        anchors=dict(r.anchors),
        compliant=r.compliant.model_dump() if r.compliant else None,
        requires=list(r.requires),
        standards=[s.model_dump() for s in r.standards],
        questions=[QuestionPublic(**q.model_dump()) for q in r.questions],
        not_applicable=r.not_applicable,
    )


def panel(p: PanelConfig, r: Rubric, judges: Sequence[JudgeConfig]) -> PanelPublic:
    return PanelPublic(
        name=p.name,
        description=p.description,
        rubric=RubricRef(id=r.id, version=r.version),
        mode=r.mode.value,
        judges=[
            JudgePublic(name=j.name, type=j.type, model=j.model, family=j.family, weight=j.weight)
            for j in judges
        ],
        aggregation=p.aggregation.value,
        quorum=p.effective_quorum,
        position_swap=p.position_swap,
        deadline_s=p.deadline_s,
        routing=p.routing.model_dump(),
    )


def jury(version: int, model: JuryModel, fitted_at: datetime | None) -> JuryPublic:
    """The jury model in force, per judge and presentation order."""
    confusion = model.confusion_array()
    workers = []
    for i, w in enumerate(model.workers):
        n = float(model.n_votes[i])
        acc = float(model.accuracy[i])
        workers.append(
            JuryWorkerPublic(
                judge=w.judge,
                order=w.order,
                reversed_scale=w.reversed_scale,
                votes=n,
                accuracy=acc,
                accuracy_ci=wilson(acc, n),
                confusion=[[float(x) for x in row] for row in confusion[i]],
            )
        )
    return JuryPublic(
        version=version,
        fitted_at=fitted_at,
        n_items=model.n_items,
        n_labelled=model.n_labelled,
        n_patterns=model.n_patterns,
        iterations=model.iterations,
        converged=model.converged,
        log_likelihood=model.log_likelihood,
        temperature=model.temperature,
        error_model=describe_priors(model.priors),
        classes=list(model.class_values()),
        scale=list(model.scale),
        class_priors=list(model.class_priors),
        workers=workers,
    )


def wilson(p: float, n: float, z: float = 1.959964) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a proportion `p` over `n` trials (None if n = 0)."""
    if n <= 0:
        return None
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def profile(p: Profile, rubrics: dict[str, Rubric]) -> ProfilePublic:
    return ProfilePublic(
        name=p.name,
        description=p.description,
        use=p.use,
        min_score=p.min_score,
        use_case=p.use_case,
        criteria=[
            ProfileCriterionPublic(
                panel=c.panel,
                rubric=c.rubric,
                weight=c.weight,
                must_pass=c.must_pass,
                standards=[s.model_dump() for s in rubrics[c.rubric].standards],
            )
            for c in p.criteria
        ],
        standards=[s.model_dump() for s in p.standards],
    )
