"""What each method sends (method, path, query, headers, body) and what it returns."""

from __future__ import annotations

import unittest
from typing import Any

import httpx
import pydantic
from fakes import EVALUATION, body, fake, scripted

from quorum_client import (
    AssessmentPublic,
    AsyncQuorumClient,
    BatchResult,
    ComparisonCreate,
    EvaluationCreate,
    EvaluationPublic,
    NotFoundError,
    PairwiseInput,
    PointwiseInput,
    QuorumClient,
    ReviewItemPublic,
)

REVIEW_ITEM = {
    "id": "r/1",
    "evaluation_id": "e1",
    "panel": "jury",
    "status": "claimed",
    "stage": "review",
    "uncertainty": 0.5,
    "reasons": ["split"],
    "required_reviews": 1,
    "reviews_done": 0,
    "claimed_by": "alice",
    "lease_until": None,
    "final_value": None,
    "decided_at": None,
    "created_at": "2025-01-01T00:00:00Z",
    "blind": False,
    "rubric": None,
    "evaluation": EVALUATION,
    "decisions": [],
}


class RequestTest(unittest.TestCase):
    def test_evaluate_posts_the_body_and_parses_the_evaluation(self) -> None:
        transport, seen = scripted(httpx.Response(200, json=EVALUATION))
        with fake(transport, api_key="qk_1") as client:
            ev = client.evaluate("jury", "p", "r", context="c", metadata={"app": "t"})
        self.assertIsInstance(ev, EvaluationPublic)
        self.assertEqual(ev.rubric.id, "helpfulness")
        [request] = seen
        self.assertEqual((request.method, request.url.path), ("POST", "/v1/evaluations"))
        self.assertEqual(
            body(request),
            {"panel": "jury", "input": {"prompt": "p", "response": "r", "context": "c"},
             "metadata": {"app": "t"}},
        )  # fmt: skip
        self.assertNotIn("prefer", request.headers)
        self.assertEqual(request.headers["user-agent"], "quorum-client")
        self.assertEqual(request.headers["authorization"], "Bearer qk_1")

    def test_assess_posts_a_conversation_and_parses_the_compliance(self) -> None:
        answer = {
            "id": "a1",
            "profile": "security",
            "status": "decided",
            "compliance": {
                "score": 1.0, "compliant": True, "min_score": 0.75, "decided": 1,
                "in_review": 0, "not_applicable": 0, "pending": 0, "failed": 0, "failing": [],
            },
            "criteria": [{"panel": "security-safety", "rubric": "safety", "weight": 2.0,
                          "must_pass": False, "evaluation": EVALUATION}],
            "metadata": {},
            "created_at": "2025-01-01T00:00:00Z",
            "completed_at": None,
        }  # fmt: skip
        transport, seen = scripted(httpx.Response(200, json=answer))
        turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
        with fake(transport) as client:
            got = client.assess("security", system="Be kind.", messages=turns)
            with self.assertRaisesRegex(pydantic.ValidationError, "must be from the assistant"):
                client.assess("security", messages=turns[:1])
        self.assertIsInstance(got, AssessmentPublic)
        self.assertEqual((got.compliance.score, got.compliance.compliant), (1.0, True))
        self.assertEqual(got.criteria[0].evaluation.id, "e1")  # type: ignore[union-attr]
        [request] = seen  # the bad call sent nothing
        self.assertEqual((request.method, request.url.path), ("POST", "/v1/assessments"))
        self.assertEqual(
            body(request),
            {"profile": "security", "input": {"system": "Be kind.", "messages": turns},
             "metadata": {}},
        )  # fmt: skip

    def test_subject_and_use_case_are_sent_and_read_back(self) -> None:
        subject = {"model": "acme/gpt-x", "version": "2026-11"}
        answer = {**EVALUATION, "subject": subject, "use_case": "support-bot"}
        page = {"data": [answer], "count": 1}
        transport, seen = scripted(
            httpx.Response(200, json=answer),
            httpx.Response(200, json=answer),
            httpx.Response(200, json=page),
        )
        with fake(transport) as client:
            ev = client.evaluate("jury", "p", "r", subject=subject, use_case="support-bot")
            client.compare("pair", "p", "a", "b", subject="acme/gpt-x", use_case="hr-faq")
            [got] = client.evaluations("jury", subject_model="acme/gpt-x", use_case="support-bot")
            with self.assertRaisesRegex(pydantic.ValidationError, "use_case"):
                client.evaluate("jury", "p", "r", use_case="not a label")
            with self.assertRaisesRegex(pydantic.ValidationError, "model"):
                client.assess("security", "p", "r", subject={"model": ""})
        self.assertEqual(ev.subject.model if ev.subject else None, "acme/gpt-x")
        self.assertEqual(ev.use_case, "support-bot")
        self.assertEqual(got.subject, ev.subject)
        first, second, listed = seen  # the bad calls sent nothing
        self.assertEqual(body(first)["subject"], subject)
        self.assertEqual(body(first)["use_case"], "support-bot")
        self.assertEqual(body(second)["subject"], {"model": "acme/gpt-x"})
        self.assertEqual((listed.method, listed.url.path), ("GET", "/v1/evaluations"))
        self.assertEqual(
            dict(listed.url.params),
            {"panel": "jury", "subject_model": "acme/gpt-x", "use_case": "support-bot",
             "limit": "50", "offset": "0"},
        )  # fmt: skip

    def test_wait_false_asks_for_an_asynchronous_answer(self) -> None:
        pending = {**EVALUATION, "status": "pending"}
        transport, seen = scripted(httpx.Response(202, json=pending))
        with fake(transport) as client:
            ev = client.compare("pair", "p", "a", "b", idempotency_key="k", wait=False)
        self.assertEqual(ev.status, "pending")
        [request] = seen
        self.assertEqual((request.method, request.url.path), ("POST", "/v1/comparisons"))
        self.assertEqual(request.headers["prefer"], "respond-async")
        self.assertNotIn("authorization", request.headers)
        sent = body(request)
        self.assertEqual(sent["input"], {"prompt": "p", "response_a": "a", "response_b": "b"})
        self.assertEqual(sent["idempotency_key"], "k")

    def test_bad_arguments_raise_before_anything_is_sent(self) -> None:
        transport, seen = scripted(httpx.Response(200, json=EVALUATION))
        with fake(transport) as client:
            with self.assertRaisesRegex(pydantic.ValidationError, "at most 32 metadata keys"):
                client.evaluate("jury", "p", "r", metadata={str(i): i for i in range(33)})
            with self.assertRaises(pydantic.ValidationError):
                client.evaluate("", "p", "r")  # a panel name is 1 to 64 characters
            with self.assertRaises(pydantic.ValidationError):
                client.claim(" alice")  # a reviewer name starts with a non-space
            with self.assertRaises(pydantic.ValidationError):
                client.batch([])
        self.assertEqual(seen, [])

    def test_batch_sends_models_and_dicts_in_order(self) -> None:
        results = {
            "data": [
                {"index": 0, "status": 200, "evaluation": EVALUATION},
                {"index": 1, "status": 404, "problem": {"title": "Not found"}},
            ],
            "count": 2,
        }
        transport, seen = scripted(httpx.Response(200, json=results))
        items: list[EvaluationCreate | ComparisonCreate | dict[str, Any]] = [
            EvaluationCreate(panel="jury", input=PointwiseInput(prompt="p", response="r")),
            ComparisonCreate(
                panel="pair", input=PairwiseInput(prompt="p", response_a="a", response_b="b")
            ),
            {"panel": "nope", "input": {"prompt": "p", "response": "x"}},
        ]
        with fake(transport) as client:
            answer = client.batch(items, wait=False)
        self.assertEqual([type(r) for r in answer], [BatchResult, BatchResult])
        self.assertEqual(answer[0].evaluation, EvaluationPublic.model_validate(EVALUATION))
        self.assertEqual(answer[1].problem, {"title": "Not found"})
        [request] = seen
        self.assertEqual(request.url.path, "/v1/evaluations/batch")
        self.assertEqual(request.headers["prefer"], "respond-async")
        sent = body(request)["items"]
        self.assertEqual([i.get("kind") for i in sent], [None, "comparison", None])
        self.assertEqual([i["panel"] for i in sent], ["jury", "pair", "nope"])
        self.assertEqual(sent[0]["metadata"], {})

    def test_reviews_claim_decide_release(self) -> None:
        page = {"data": [REVIEW_ITEM], "count": 1}
        item = httpx.Response(200, json=REVIEW_ITEM)
        transport, seen = scripted(
            httpx.Response(200, json=page), item, httpx.Response(204), item, item
        )
        with fake(transport) as client:
            [listed] = client.reviews(status="pending", limit=5)
            claimed = client.claim("alice", panel="jury")
            empty = client.claim("alice")
            client.decide("r/1", "alice", 4, comment="ok")
            client.release("r/1", "alice")
        self.assertIsInstance(listed, ReviewItemPublic)
        self.assertEqual(listed.evaluation.id, "e1")
        self.assertIsNotNone(claimed)
        self.assertIsNone(empty)  # 204: the queue is empty
        query = {"status": "pending", "limit": "5", "offset": "0"}
        self.assertEqual(dict(seen[0].url.params), query)
        self.assertEqual(body(seen[1]), {"reviewer": "alice", "panel": "jury"})
        self.assertEqual(body(seen[2]), {"reviewer": "alice"})
        self.assertEqual(seen[3].url.raw_path, b"/v1/reviews/r%2F1/verdict")  # id quoted
        self.assertEqual(body(seen[3]), {"reviewer": "alice", "value": 4, "comment": "ok"})
        self.assertEqual(seen[4].url.raw_path, b"/v1/reviews/r%2F1/release")

    def test_catalog_and_agreement(self) -> None:
        transport, seen = scripted(
            httpx.Response(200, json={"data": [], "count": 0}),
            httpx.Response(200, json={"data": [], "count": 0}),
            httpx.Response(404, json={"title": "Not found", "status": 404, "detail": "x"}),
        )
        with fake(transport) as client:
            self.assertEqual(client.panels(), [])
            self.assertEqual(client.rubrics(), [])
            with self.assertRaises(NotFoundError):
                client.agreement("a b", window="30m")
        self.assertEqual([r.url.path for r in seen[:2]], ["/v1/panels", "/v1/rubrics"])
        self.assertEqual(seen[2].url.raw_path, b"/v1/panels/a%20b/agreement?window=30m")

    def test_methods_carry_the_endpoint_signature_and_docs(self) -> None:
        import inspect

        sig = inspect.signature(QuorumClient.evaluate)
        self.assertEqual(list(sig.parameters)[:4], ["self", "panel", "prompt", "response"])
        self.assertEqual(sig.return_annotation, "EvaluationPublic")
        self.assertIn("respond-async", QuorumClient.evaluate.__doc__ or "")
        self.assertEqual(AsyncQuorumClient.claim.__qualname__, "AsyncQuorumClient.claim")


class AsyncRequestTest(unittest.IsolatedAsyncioTestCase):
    async def test_async_methods_send_the_same_requests(self) -> None:
        transport, seen = scripted(httpx.Response(200, json=EVALUATION))
        async with AsyncQuorumClient("http://quorum.test", "qk_2", transport=transport) as c:
            ev = await c.evaluate("jury", "p", "r", wait=False)
        self.assertEqual(ev.id, "e1")
        [request] = seen
        self.assertEqual(request.url.path, "/v1/evaluations")
        self.assertEqual(request.headers["prefer"], "respond-async")
        self.assertEqual(request.headers["authorization"], "Bearer qk_2")


if __name__ == "__main__":
    unittest.main()
