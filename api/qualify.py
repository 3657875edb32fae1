"""Qualifying a candidate model before production (`quorum qualify`, docs/governance.md).

Each prompt of a corpus that tests a criterion of the profile is sent to the candidate
model (`judges.candidate`, through litellm); each answer is assessed on the profile by a
running Quorum, with `subject: {model}` and the use case, through the client; the
per-criterion compliance rates of the answers (Wilson 95%) are summarised here. The
service's policies then decide the model's zone (`POST /v1/models/{model}/evaluate`):
this module only reports what they did.

Counting: a criterion's rate is over its decided, applicable evaluations (n/a verdicts
out, items waiting for a reviewer apart), the final verdict (a human's where there is
one) deciding compliance, as `GET /v1/compliance` counts them. `targeted` is the same
rate over the prompts tagged with the criterion's rubric: the answers written to test it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from judges import Candidate, CandidateAnswer, ChatClient, RetryPolicy, answer
from quorum_client import (
    AssessmentPublic,
    AsyncQuorumClient,
    AuthError,
    ProfilePublic,
    QuorumAPIError,
)
from routing.governance import Rate, binomial_rate
from rubrics import CorpusPrompt

APP = "quorum-qualify"
"""`metadata.app` of every qualification assessment."""
DEFAULT_USE_CASE = "qualification"


class Outcome(BaseModel):
    """One prompt of the run: the candidate's answer and its assessment, or why not."""

    model_config = ConfigDict(frozen=True)

    prompt: CorpusPrompt
    answer: CandidateAnswer
    assessment: AssessmentPublic | None = None
    problem: str | None = None
    """Why the answer was not assessed (the service's problem detail)."""


class CriterionResult(BaseModel):
    """One criterion (a panel of the profile) over the run's answers."""

    model_config = ConfigDict(frozen=True)

    criterion: str
    """The panel."""
    rubric: str
    n: int
    """Decided, applicable evaluations."""
    compliant: int
    rate: Rate | None
    """None when no evaluation was decided and applicable."""
    not_applicable: int
    in_review: int
    """Waiting for a reviewer: not in the rate until decided."""
    failed: int
    targeted_n: int
    """Of `n`, the answers to prompts tagged with this rubric."""
    targeted_compliant: int
    targeted_rate: Rate | None


class Report(BaseModel):
    """Everything a qualification run found, before the policies are applied."""

    model_config = ConfigDict(frozen=True)

    model: str
    profile: str
    use_case: str
    corpus: str
    prompts: int
    answered: int
    assessed: int
    unanswered: list[str]
    """`<prompt id>: <error>` for each prompt the candidate did not answer."""
    unassessed: list[str]
    """`<prompt id>: <problem>` for each answer the service did not assess."""
    profile_n: int
    """Assessments whose profile compliance is known."""
    profile_compliant: int
    profile_rate: Rate | None
    criteria: list[CriterionResult]

    @property
    def complete(self) -> bool:
        return not self.unanswered and not self.unassessed


def _rate(k: int, n: int) -> Rate | None:
    return binomial_rate(k, n, level=0.95) if n else None


def summarise(
    model: str, profile: ProfilePublic, use_case: str, corpus: str, outcomes: Sequence[Outcome]
) -> Report:
    """The per-criterion and profile-level rates of a run's outcomes."""
    assessed = [(o.prompt, o.assessment) for o in outcomes if o.assessment is not None]
    criteria = []
    for c in profile.criteria:
        n = k = na = review = failed = tn = tk = 0
        for prompt, assessment in assessed:
            found = next((x for x in assessment.criteria if x.panel == c.panel), None)
            e = found.evaluation if found is not None else None
            if e is None or e.status == "failed":
                failed += 1
            elif e.verdict is None or e.status == "pending":
                review += 1
            elif e.verdict.compliant is None:
                na += 1
            else:
                good = int(e.verdict.compliant)
                targeted = c.rubric in prompt.criteria
                n, k = n + 1, k + good
                tn, tk = tn + targeted, tk + good * targeted
        criteria.append(
            CriterionResult(
                criterion=c.panel,
                rubric=c.rubric,
                n=n,
                compliant=k,
                rate=_rate(k, n),
                not_applicable=na,
                in_review=review,
                failed=failed,
                targeted_n=tn,
                targeted_compliant=tk,
                targeted_rate=_rate(tk, tn),
            )
        )
    known = [assessment.compliance.compliant for _, assessment in assessed]
    decided = [c for c in known if c is not None]
    return Report(
        model=model,
        profile=profile.name,
        use_case=use_case,
        corpus=corpus,
        prompts=len(outcomes),
        answered=sum(o.answer.text is not None for o in outcomes),
        assessed=len(assessed),
        unanswered=[f"{o.prompt.id}: {o.answer.error}" for o in outcomes if o.answer.error],
        unassessed=[f"{o.prompt.id}: {o.problem}" for o in outcomes if o.problem],
        profile_n=len(decided),
        profile_compliant=sum(decided),
        profile_rate=_rate(sum(decided), len(decided)),
        criteria=criteria,
    )


class Qualification:
    """One run: the candidate answers, the service assesses, `on_done` is told of each
    prompt finished (the progress bar)."""

    def __init__(
        self,
        quorum: AsyncQuorumClient,
        llm: ChatClient,
        candidate: Candidate,
        *,
        subject: str,
        profile: str,
        use_case: str,
        corpus: str,
        concurrency: int = 4,
        wait_s: float = 300.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.quorum, self.llm, self.candidate = quorum, llm, candidate
        self.subject, self.profile, self.use_case, self.corpus = subject, profile, use_case, corpus
        self.concurrency, self.wait_s = concurrency, wait_s
        self.retry = retry or RetryPolicy()
        self.run_id = f"{int(time.time())}-{random.randrange(16**6):06x}"
        """Part of each assessment's idempotency key: a resent POST is not judged twice,
        a second run is judged afresh."""

    async def run(
        self, prompts: Sequence[CorpusPrompt], on_done: Callable[[Outcome], None] | None = None
    ) -> list[Outcome]:
        """Every prompt answered and assessed, at most `concurrency` at once, in order.
        An `AuthError` from the service (the key is refused) stops the run."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(prompt: CorpusPrompt) -> Outcome:
            async with gate:
                outcome = await self._one(prompt)
            if on_done is not None:
                on_done(outcome)
            return outcome

        return list(await asyncio.gather(*(one(p) for p in prompts)))

    async def _one(self, prompt: CorpusPrompt) -> Outcome:
        said = await answer(self.llm, self.candidate, prompt.messages(), retry=self.retry)
        if said.text is None:
            return Outcome(prompt=prompt, answer=said)
        if not said.text.strip():
            return Outcome(prompt=prompt, answer=said, problem="the candidate answered nothing")
        try:
            assessment = await self.quorum.assess(
                self.profile,
                prompt.prompt,
                said.text,
                system=prompt.system,
                context=prompt.context,
                metadata=self._metadata(prompt),
                idempotency_key=f"qualify:{self.run_id}:{prompt.id}",
                subject={"model": self.subject},
                use_case=self.use_case,
            )
            assessment = await self._settled(assessment)
        except AuthError:
            raise
        except (QuorumAPIError, TimeoutError) as exc:
            return Outcome(prompt=prompt, answer=said, problem=_problem(exc))
        return Outcome(prompt=prompt, answer=said, assessment=assessment)

    def _metadata(self, prompt: CorpusPrompt) -> dict[str, Any]:
        return {
            "app": APP,
            "corpus": self.corpus,
            "prompt_id": prompt.id,
            "category": prompt.category.value,
        }

    async def _settled(self, assessment: AssessmentPublic) -> AssessmentPublic:
        """The assessment once no criterion is still being judged (a reviewer's items are
        not waited for); TimeoutError after `wait_s`."""
        deadline = time.monotonic() + self.wait_s
        while assessment.status == "pending":
            if time.monotonic() > deadline:
                raise TimeoutError(f"assessment {assessment.id} still pending")
            await asyncio.sleep(0.5)
            assessment = await self.quorum.get_assessment(assessment.id)
        return assessment


def _problem(exc: Exception) -> str:
    if isinstance(exc, QuorumAPIError):
        return f"HTTP {exc.status}: {exc.problem.get('detail') or exc.problem.get('title')}"
    return str(exc)
