"""From a panel's votes to its verdict, agreement, confidence and routing decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from judges import Vote
from routing.aggregate import Aggregation, aggregate
from routing.agreement import ItemAgreement, item_agreement
from routing.checklist import QuestionVerdict, judge_checklist
from routing.confidence import confidence
from routing.jury import JuryModel, cold_start, default_classes, posterior
from routing.policy import RoutingDecision, RoutingPolicy, decide
from routing.position import JudgeVerdict, consistency_rate, reconcile
from rubrics import Mode, Rubric, ScaleValue


class PanelVerdict(BaseModel):
    """What the panel concluded about one item."""

    model_config = ConfigDict(frozen=True)

    value: ScaleValue | None
    """The panel's value (pairwise: canonical A = response_a); None without usable votes."""
    compliant: bool | None
    confidence: float
    agreement: ItemAgreement
    distribution: dict[str, float]
    """Share of (weighted) usable judge verdicts per scale value."""
    judges: tuple[JudgeVerdict, ...]
    """Each judge's reconciled verdict."""
    weights: dict[str, float]
    """The weight each judge carried in this verdict."""
    routing: RoutingDecision
    questions: tuple[QuestionVerdict, ...] = ()
    """Checklist rubrics: each question's verdict, agreement and confidence."""


def conclude(
    rubric: Rubric,
    votes: Sequence[Vote],
    *,
    aggregation: Aggregation,
    quorum: int,
    policy: RoutingPolicy,
    weights: Mapping[str, float],
    audit_draw: float,
    jury: JuryModel | None = None,
) -> PanelVerdict:
    """Reconcile orders, aggregate, measure agreement and confidence, and route.

    With `aggregation=JURY` the verdict is the posterior mode of `jury` over the raw
    votes (each judge and order its own reading; no reconciliation to a tie), or its
    median on ordinal scales of more than two classes, the confidence its (tempered)
    posterior probability and `distribution` the posterior; without a
    fitted model, the cold start (priors only). Per-item agreement is still measured on
    the reconciled judge verdicts, as for every aggregation. A checklist is concluded
    question by question (`routing.checklist`)."""
    if rubric.mode is Mode.CHECKLIST:
        return _checklist(rubric, votes, aggregation, quorum, policy, weights, audit_draw)
    judged = reconcile(votes, rubric)
    used = {j.judge: weights.get(j.judge, 1.0) for j in judged}
    voting = [j for j in judged if j.value is not None]
    usable = [(j.value, used[j.judge]) for j in voting if j.value is not None]
    agreement = item_agreement(
        rubric, usable, total_votes=len(judged), position_consistency=consistency_rate(judged)
    )
    if aggregation is Aggregation.JURY:
        model = jury if jury is not None else cold_model(rubric)
        found = posterior(model, votes)
        value = found.value if found.n_votes else None
        conf = found.confidence if value is not None else 0.0
        distribution = dict(found.probs) if value is not None else {}
    else:
        tally = aggregate(rubric, usable, aggregation)
        value, distribution = tally.value, tally.distribution
        conf = confidence(rubric, usable, value, aggregation, [j.distribution for j in voting])
    unchecked = bool(usable) and {v.order for v in votes} >= {"AB", "BA"}
    routing = decide(policy, agreement, conf, quorum, audit_draw, position_unchecked=unchecked)
    return PanelVerdict(
        value=value,
        compliant=rubric.is_compliant(value),
        confidence=conf,
        agreement=agreement,
        distribution=distribution,
        judges=judged,
        weights=used,
        routing=routing,
    )


def cold_model(rubric: Rubric) -> JuryModel:
    """The jury model of a panel with no data yet: priors only. In the service humans
    may say any scale value (tie included on pairwise rubrics)."""
    return cold_start(
        rubric.scale,
        default_classes(rubric, human_can_tie=True),
        ordinal=rubric.ordinal,
        numeric=rubric.numeric,
    )


def _checklist(
    rubric: Rubric,
    votes: Sequence[Vote],
    aggregation: Aggregation,
    quorum: int,
    policy: RoutingPolicy,
    weights: Mapping[str, float],
    audit_draw: float,
) -> PanelVerdict:
    value, conf, agreement, questions, judged = judge_checklist(rubric, votes, aggregation, weights)
    used = {j.judge: weights.get(j.judge, 1.0) for j in judged}
    overall = [(j.value, used[j.judge]) for j in judged if j.value is not None]
    return PanelVerdict(
        value=value,
        compliant=rubric.is_compliant(value),
        confidence=conf,
        agreement=agreement,
        distribution=aggregate(rubric, overall, aggregation).distribution,
        judges=judged,
        weights=used,
        routing=decide(policy, agreement, conf, quorum, audit_draw),
        questions=questions,
    )
