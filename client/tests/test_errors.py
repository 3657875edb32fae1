"""Error answers: one exception class per status, carrying the RFC 9457 problem."""

from __future__ import annotations

import unittest

import httpx
from fakes import fake, scripted

from quorum_client import (
    AuthError,
    ConflictError,
    NotFoundError,
    QuorumAPIError,
    RateLimitError,
    UnavailableError,
    ValidationError,
)


class ErrorTest(unittest.TestCase):
    def raised(self, response: httpx.Response) -> QuorumAPIError:
        transport, _ = scripted(response)
        with fake(transport, max_retries=0) as client, self.assertRaises(QuorumAPIError) as c:
            client.get_evaluation("e1")
        return c.exception

    def test_each_status_has_its_exception(self) -> None:
        expected = {
            400: QuorumAPIError,
            401: AuthError,
            403: AuthError,
            404: NotFoundError,
            409: ConflictError,
            413: QuorumAPIError,
            422: ValidationError,
            429: RateLimitError,
            500: QuorumAPIError,
            503: UnavailableError,
        }
        for status, cls in expected.items():
            problem = {"type": "about:blank", "title": "T", "status": status, "detail": "D"}
            error = self.raised(httpx.Response(status, json=problem))
            self.assertIs(type(error), cls, status)
            self.assertEqual(error.status, status)
            self.assertEqual(error.problem, problem)
            self.assertEqual(str(error), f"{status} T: D")
            self.assertIsNone(error.retry_after)

    def test_the_problem_is_kept_whole(self) -> None:
        problem = {
            "type": "https://quorum.dev/problems/invalid-request",
            "title": "Invalid request",
            "status": 422,
            "detail": "1 invalid field",
            "errors": [{"loc": ["body", "panel"], "msg": "too long"}],
        }
        error = self.raised(httpx.Response(422, json=problem))
        self.assertIsInstance(error, ValidationError)
        self.assertEqual(error.problem["errors"][0]["loc"], ["body", "panel"])

    def test_a_problem_without_detail_or_title(self) -> None:
        error = self.raised(httpx.Response(404, json={"status": 404}))
        self.assertEqual(str(error), "404 Error")
        slow = httpx.Response(429, json={"title": "Slow down"}, headers={"Retry-After": "9"})
        error = self.raised(slow)
        self.assertEqual((str(error), error.retry_after), ("429 Slow down", 9))

    def test_a_body_that_is_not_a_problem(self) -> None:
        error = self.raised(httpx.Response(502, text="<html>bad gateway</html>"))
        self.assertEqual(error.problem["status"], 502)
        self.assertEqual(error.problem["title"], "Bad Gateway")
        self.assertEqual(error.problem["detail"], "<html>bad gateway</html>")
        error = self.raised(httpx.Response(500, json=["not", "a", "dict"]))
        self.assertEqual(error.problem["title"], "Internal Server Error")
        error = self.raised(httpx.Response(500))
        self.assertEqual(str(error), "500 Internal Server Error")
        self.assertIsNone(error.problem["detail"])


if __name__ == "__main__":
    unittest.main()
