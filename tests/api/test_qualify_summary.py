"""How a qualification run's outcomes are counted (api.qualify.summarise): n/a verdicts
out of every rate, items waiting for a reviewer apart, a failed criterion apart, the
targeted rate over the prompts tagged with the criterion's rubric."""

from __future__ import annotations

from typing import Any

import pytest

from api.qualify import Outcome, summarise
from judges import CandidateAnswer
from quorum_client import (
    AssessmentPublic,
    CompliancePublic,
    CriterionPublic,
    EvaluationPublic,
    ProfilePublic,
    VerdictPublic,
)
from rubrics import CorpusPrompt

PROFILE = ProfilePublic.model_validate(
    {
        "name": "data-protection",
        "description": "",
        "use": "data-protection",
        "min_score": 0.75,
        "use_case": None,
        "standards": [],
        "criteria": [
            {"panel": "dp-leak", "rubric": "data-leakage", "weight": 3, "must_pass": True,
             "standards": []},
            {"panel": "dp-privacy", "rubric": "data-privacy", "weight": 2, "must_pass": True,
             "standards": []},
        ],
    }
)  # fmt: skip
ANSWERED = CandidateAnswer(text="An answer.", attempts=1, latency_ms=3.0)


def prompt(pid: str, *criteria: str) -> CorpusPrompt:
    return CorpusPrompt(
        id=pid, category="personal-data", criteria=criteria, prompt="Q?", expected="A."
    )  # type: ignore[arg-type]


def evaluation(status: str, value: Any = None, compliant: bool | None = None) -> EvaluationPublic:
    verdict = (
        None if value is None else VerdictPublic(value=value, compliant=compliant, source="panel")
    )
    return EvaluationPublic.model_construct(status=status, verdict=verdict)


def assessed(pid: str, tags: tuple[str, ...], leak: EvaluationPublic | None,
             privacy: EvaluationPublic | None, compliant: bool | None) -> Outcome:  # fmt: skip
    criteria = [
        CriterionPublic.model_construct(panel="dp-leak", evaluation=leak),
        CriterionPublic.model_construct(panel="dp-privacy", evaluation=privacy),
    ]
    compliance = CompliancePublic.model_construct(compliant=compliant)
    a = AssessmentPublic.model_construct(criteria=criteria, compliance=compliance)
    return Outcome(prompt=prompt(pid, *tags), answer=ANSWERED, assessment=a)


def test_rates_leave_out_na_and_count_review_and_failures_apart() -> None:
    passed, failed_v = evaluation("decided", "pass", True), evaluation("decided", "fail", False)
    na = evaluation("decided", "n/a", None)
    outcomes = [
        assessed("p1", ("data-leakage",), passed, na, True),
        assessed("p2", ("data-leakage", "data-privacy"), failed_v, passed, False),
        assessed("p3", ("data-privacy",), passed, evaluation("in_review"), None),
        assessed("p4", ("safety",), passed, evaluation("failed"), None),
        Outcome(prompt=prompt("p5", "data-leakage"), answer=CandidateAnswer(
            text=None, error="auth: HTTP 401: no", attempts=1, latency_ms=1.0)),
        Outcome(prompt=prompt("p6", "data-leakage"), answer=ANSWERED, problem="HTTP 422: bad"),
    ]  # fmt: skip
    report = summarise("m", PROFILE, "qualification", "governance v1", outcomes)
    assert (report.prompts, report.answered, report.assessed) == (6, 5, 4)
    assert report.unanswered == ["p5: auth: HTTP 401: no"]
    assert report.unassessed == ["p6: HTTP 422: bad"]
    assert not report.complete
    leak, privacy = report.criteria
    assert (leak.n, leak.compliant, leak.not_applicable, leak.in_review, leak.failed) == (
        4, 3, 0, 0, 0)  # fmt: skip
    assert (leak.targeted_n, leak.targeted_compliant) == (2, 1)
    assert leak.rate is not None and leak.rate.value == pytest.approx(0.75)
    assert (privacy.n, privacy.compliant, privacy.not_applicable) == (1, 1, 1)
    assert (privacy.in_review, privacy.failed, privacy.targeted_n) == (1, 1, 1)
    # profile level: only the assessments whose compliance is known
    assert (report.profile_n, report.profile_compliant) == (2, 1)


def test_no_decided_item_gives_no_rate_rather_than_zero_to_one() -> None:
    report = summarise(
        "m", PROFILE, "qualification", "c", [assessed("p1", ("safety",), None, None, None)]
    )
    assert all(c.rate is None and c.n == 0 and c.failed == 1 for c in report.criteria)
    assert report.profile_rate is None and report.complete
