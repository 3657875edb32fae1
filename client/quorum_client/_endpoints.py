"""Every endpoint of the REST API as a `Call`: what to send and how to read the answer.

Both clients send these same calls (see `_client`); adding an endpoint is one `Endpoints`
method and one line in each client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
from pydantic import BaseModel

from quorum_client._calls import RESPOND_ASYNC, Call
from quorum_client._calls import body_of as _body
from quorum_client._calls import get as _get
from quorum_client._calls import many as _many
from quorum_client._calls import one as _one
from quorum_client._calls import path as _path
from quorum_client._governance_endpoints import GovernanceEndpoints
from quorum_client._models import (
    AgreementReport,
    AssessmentPublic,
    BatchResult,
    EvaluationPublic,
    PanelPublic,
    ProfilePublic,
    ReviewItemPublic,
    RubricPublic,
    ScaleValue,
)
from quorum_client._requests import (
    AssessmentCreate,
    BatchCreate,
    ChatMessage,
    ClaimRequest,
    ComparisonCreate,
    EvaluationCreate,
    PairwiseInput,
    PointwiseInput,
    ReleaseRequest,
    Subject,
    VerdictRequest,
)


def _subject(subject: Subject | str | Mapping[str, str] | None) -> Subject | None:
    """`subject=` as given: a model name, a mapping (`model`, `version`) or a `Subject`."""
    if subject is None or isinstance(subject, Subject):
        return subject
    if isinstance(subject, str):
        return Subject(model=subject)
    return Subject(**subject)


def _submit(
    path: str, body: EvaluationCreate | ComparisonCreate, wait: bool
) -> Call[EvaluationPublic]:
    headers = None if wait else RESPOND_ASYNC
    replay = body.idempotency_key is not None
    parse = _one(EvaluationPublic)
    return Call("POST", path, parse, _body(body), None, headers, replay, settle=wait)


class Endpoints(GovernanceEndpoints):
    """Every endpoint as a `Call`, shared by both clients.

    Retries: 429 and 503 are retried on every call. A 429 is refused before any work (the
    rate limit is checked before the handler); a 503 means the database could not be
    reached, so normally nothing was stored (an `idempotency_key` covers the rare partial
    failure). A connection error or timeout is different: the request may have reached
    the server and been acted on. GETs are safe to resend. POST /v1/evaluations and /v1/comparisons
    are resent only with an `idempotency_key`: without one, each POST stores and judges a
    new evaluation (paying every judge again, maybe routing a second copy to reviewers);
    with one, the server answers a repeat of the same body with the stored evaluation.
    Review claims, verdicts and releases, and batches, are never resent on a lost answer.
    """

    @staticmethod
    def evaluate(
        panel: str,
        prompt: str,
        response: str,
        *,
        context: str | None = None,
        reference: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        subject: Subject | str | Mapping[str, str] | None = None,
        use_case: str | None = None,
        wait: bool = True,
    ) -> Call[EvaluationPublic]:
        """Judge one response on a pointwise panel. `subject`: the production model that
        wrote `response` (its name, or `{"model": ..., "version": ...}`); `use_case`: the
        governance label of the business use. `wait=True` returns the concluded evaluation:
        one the server answers still pending (a replayed `idempotency_key` whose first
        request is unfinished) is polled for up to `max_wait` s (`wait_for`), TimeoutError
        after. `wait=False` sends `Prefer: respond-async` and returns the stored `pending`
        evaluation at once (see `wait_for`). Arguments the schema rejects raise
        pydantic.ValidationError before sending."""
        fields = PointwiseInput(
            prompt=prompt, response=response, context=context, reference=reference
        )
        body = EvaluationCreate(
            panel=panel,
            input=fields,
            metadata=metadata or {},
            idempotency_key=idempotency_key,
            subject=_subject(subject),
            use_case=use_case,
        )
        return _submit("/v1/evaluations", body, wait)

    @staticmethod
    def assess(
        profile: str,
        prompt: str | None = None,
        response: str | None = None,
        *,
        system: str | None = None,
        messages: Sequence[ChatMessage | Mapping[str, str]] | None = None,
        context: str | None = None,
        reference: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        webhook_url: str | None = None,
        subject: Subject | str | Mapping[str, str] | None = None,
        use_case: str | None = None,
        wait: bool = True,
    ) -> Call[AssessmentPublic]:
        """Judge one response on every criterion of a profile at once; the answer has each
        criterion's evaluation and the weighted compliance. Give `prompt` and `response`,
        or `messages` (a conversation whose last assistant turn is judged). `wait=False`
        sends `Prefer: respond-async` (poll `get_assessment`). Resent after a lost answer
        only with an `idempotency_key`. `subject` and `use_case` as for `evaluate`; every
        criterion's evaluation inherits them."""
        turns = None
        if messages is not None:
            turns = [m if isinstance(m, ChatMessage) else ChatMessage(**m) for m in messages]
        fields = PointwiseInput(
            prompt=prompt,
            response=response,
            system=system,
            messages=turns,
            context=context,
            reference=reference,
        )
        body = AssessmentCreate(
            profile=profile,
            input=fields,
            metadata=metadata or {},
            idempotency_key=idempotency_key,
            webhook_url=webhook_url,
            subject=_subject(subject),
            use_case=use_case,
        )
        headers = None if wait else RESPOND_ASYNC
        replay = idempotency_key is not None
        return Call(
            "POST", "/v1/assessments", _one(AssessmentPublic), _body(body), None, headers, replay
        )

    @staticmethod
    def get_assessment(assessment_id: str) -> Call[AssessmentPublic]:
        """One assessment, its compliance recomputed now (human verdicts included)."""
        return _get(_path("/v1/assessments/{}", assessment_id), _one(AssessmentPublic))

    @staticmethod
    def profiles() -> Call[list[ProfilePublic]]:
        """The configured profiles."""
        return _get("/v1/profiles", _many(ProfilePublic))

    @staticmethod
    def compare(
        panel: str,
        prompt: str,
        response_a: str,
        response_b: str,
        *,
        context: str | None = None,
        reference: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        subject: Subject | str | Mapping[str, str] | None = None,
        use_case: str | None = None,
        wait: bool = True,
    ) -> Call[EvaluationPublic]:
        """Compare two responses on a pairwise panel; `winner` is "a", "b" or "tie".
        `subject`, `use_case` and `wait` as for `evaluate`."""
        fields = PairwiseInput(
            prompt=prompt,
            response_a=response_a,
            response_b=response_b,
            context=context,
            reference=reference,
        )
        body = ComparisonCreate(
            panel=panel,
            input=fields,
            metadata=metadata or {},
            idempotency_key=idempotency_key,
            subject=_subject(subject),
            use_case=use_case,
        )
        return _submit("/v1/comparisons", body, wait)

    @staticmethod
    def batch(
        items: Sequence[EvaluationCreate | ComparisonCreate | Mapping[str, Any]], wait: bool = True
    ) -> Call[list[BatchResult]]:
        """Many items judged concurrently; one `BatchResult` per item, in order, each with
        its evaluation or its own problem. Dict items are sent as they are (a comparison
        needs `"kind": "comparison"`). `wait=False`: every item is stored `pending`."""

        def raw(i: EvaluationCreate | ComparisonCreate | Mapping[str, Any]) -> dict[str, Any]:
            if isinstance(i, BaseModel):
                return _body(i) | (
                    {"kind": "comparison"} if isinstance(i, ComparisonCreate) else {}
                )
            return dict(i)

        body = _body(BatchCreate(items=[raw(i) for i in items]))
        headers = None if wait else RESPOND_ASYNC
        return Call("POST", "/v1/evaluations/batch", _many(BatchResult), body, None, headers)

    @staticmethod
    def evaluations(
        panel: str | None = None,
        status: str | None = None,
        *,
        subject_model: str | None = None,
        use_case: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Call[list[EvaluationPublic]]:
        """The key's evaluations, newest first, narrowed by every filter given: `panel`,
        `status`, `subject_model` (the model that wrote the response), `use_case`, and a
        creation window [`since`, `until`) of ISO 8601 times."""
        return _get(
            "/v1/evaluations",
            _many(EvaluationPublic),
            panel=panel,
            status=status,
            subject_model=subject_model,
            use_case=use_case,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )

    @staticmethod
    def get_evaluation(evaluation_id: str) -> Call[EvaluationPublic]:
        """One evaluation with its votes, verdict, routing and any human verdict."""
        return _get(_path("/v1/evaluations/{}", evaluation_id), _one(EvaluationPublic))

    @staticmethod
    def panels() -> Call[list[PanelPublic]]:
        """The configured panels."""
        return _get("/v1/panels", _many(PanelPublic))

    @staticmethod
    def rubrics() -> Call[list[RubricPublic]]:
        """The loaded rubrics."""
        return _get("/v1/rubrics", _many(RubricPublic))

    @staticmethod
    def reviews(
        status: str | None = None,
        panel: str | None = None,
        *,
        reviewer: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Call[list[ReviewItemPublic]]:
        """Review items (status: pending, claimed or decided), most uncertain first; blind
        where the reader (the key's reviewer; open mode: `reviewer`) has not decided them."""
        parse = _many(ReviewItemPublic)
        return _get(
            "/v1/reviews",
            parse,
            status=status,
            panel=panel,
            reviewer=reviewer,
            limit=limit,
            offset=offset,
        )

    @staticmethod
    def claim(
        reviewer: str | None = None, panel: str | None = None
    ) -> Call[ReviewItemPublic | None]:
        """The next item to review, leased to the key's reviewer (open mode: `reviewer`,
        required there); None when the queue is empty (204). With a key, `reviewer` may be
        left out; if given it must be the key's name."""

        def parse(r: httpx.Response) -> ReviewItemPublic | None:
            return None if r.status_code == 204 else ReviewItemPublic.model_validate_json(r.content)

        body = _body(ClaimRequest(reviewer=reviewer, panel=panel))
        return Call("POST", "/v1/reviews/claim", parse, body)

    @staticmethod
    def decide(
        item_id: str,
        reviewer: str | None,
        value: ScaleValue | float,
        comment: str | None = None,
        shown_order: Literal["AB", "BA"] | None = None,
    ) -> Call[ReviewItemPublic]:
        """Decide a claimed item with a value on the rubric's scale (pairwise: A, B, tie,
        canonical; `shown_order`: the order the reviewer saw the two responses in).
        `reviewer`: None with a key (the key's name is recorded); required in open mode."""
        body = _body(
            VerdictRequest(reviewer=reviewer, value=value, comment=comment, shown_order=shown_order)
        )
        path = _path("/v1/reviews/{}/verdict", item_id)
        return Call("POST", path, _one(ReviewItemPublic), body)

    @staticmethod
    def release(item_id: str, reviewer: str | None = None) -> Call[ReviewItemPublic]:
        """Give a claimed item back to the queue (`reviewer`: as for `claim`)."""
        body = _body(ReleaseRequest(reviewer=reviewer))
        path = _path("/v1/reviews/{}/release", item_id)
        return Call("POST", path, _one(ReviewItemPublic), body)

    @staticmethod
    def agreement(panel: str, window: str = "7d") -> Call[AgreementReport]:
        """Agreement statistics of a panel over a window such as 30m, 24h, 7d (admin scope)."""
        path = _path("/v1/panels/{}/agreement", panel)
        return _get(path, _one(AgreementReport), window=window)
