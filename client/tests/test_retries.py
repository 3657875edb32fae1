"""The retry policy: 429 and 503 retried honouring Retry-After (seconds or HTTP-date) up to
`max_retries` and `max_wait`; connection errors resent only where resending is safe."""

from __future__ import annotations

import unittest
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
from fakes import EVALUATION, fake, problem, scripted

from quorum_client import (
    AsyncQuorumClient,
    Call,
    QuorumAPIError,
    RateLimitError,
    UnavailableError,
    parse_retry_after,
)


class RetryTest(unittest.TestCase):
    def test_429_with_retry_after_zero_is_retried(self) -> None:
        ok = httpx.Response(200, json=EVALUATION)
        transport, seen = scripted(
            problem(429, **{"Retry-After": "0"}), problem(429, **{"Retry-After": "0"}), ok
        )
        with fake(transport, api_key="qk_test") as client:
            ev = client.evaluate("jury", "p", "r")  # a POST without a key: 429 is still safe
        self.assertEqual(ev.id, "e1")
        self.assertEqual(len(seen), 3)
        self.assertTrue(all(r.headers["authorization"] == "Bearer qk_test" for r in seen))

    def test_503_beyond_max_retries_raises(self) -> None:
        transport, seen = scripted(problem(503, **{"Retry-After": "0"}))
        with fake(transport, max_retries=2) as client, self.assertRaises(UnavailableError) as c:
            client.panels()
        self.assertEqual(len(seen), 3)
        self.assertEqual(c.exception.status, 503)
        self.assertEqual(c.exception.problem["detail"], "try later")
        self.assertEqual(c.exception.retry_after, 0)

    def test_retry_after_as_http_date(self) -> None:
        now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
        in_30s = format_datetime(now + timedelta(seconds=30), usegmt=True)
        self.assertEqual(parse_retry_after(in_30s, now), 30)
        self.assertEqual(parse_retry_after("Sun, 01 Jun 2025 11:00:00 GMT", now), 0)  # past
        self.assertEqual(parse_retry_after("7"), 7)
        self.assertIsNone(parse_retry_after("soon"))
        self.assertIsNone(parse_retry_after(None))
        self.assertIsNone(parse_retry_after("  "))
        later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
        client = fake(scripted()[0])
        call: Call[Any] = Call("GET", "/v1/panels", lambda r: r)
        delay = client._delay(call, 0, problem(429, **{"Retry-After": later}))
        self.assertIsNotNone(delay)
        assert delay is not None
        self.assertTrue(28 < delay <= 30, delay)
        past = format_datetime(datetime.now(UTC) - timedelta(seconds=5), usegmt=True)
        transport, seen = scripted(
            problem(503, **{"Retry-After": past}), httpx.Response(200, json=EVALUATION)
        )
        with fake(transport) as c:
            self.assertEqual(c.get_evaluation("e1").id, "e1")
        self.assertEqual(len(seen), 2)

    def test_a_retry_after_longer_than_max_wait_is_not_waited_out(self) -> None:
        transport, seen = scripted(problem(429, **{"Retry-After": "3600"}))
        with fake(transport, max_wait=10) as client, self.assertRaises(RateLimitError) as c:
            client.panels()
        self.assertEqual(len(seen), 1)
        self.assertEqual(c.exception.retry_after, 3600)

    def test_without_retry_after_the_backoff_is_capped_and_jittered(self) -> None:
        client = fake(scripted()[0], max_retries=20)
        client.backoff_base = 0.5  # the defaults: 0.5 s doubling, at most 20 s
        call: Call[Any] = Call("GET", "/v1/panels", lambda r: r)
        for attempt, bound in [(0, 0.5), (3, 4.0), (10, 20.0)]:
            delays = [client._delay(call, attempt, problem(503)) for _ in range(200)]
            self.assertTrue(all(d is not None and 0 <= d <= bound for d in delays), attempt)
            self.assertGreater(len(set(delays)), 100)  # full jitter, not a fixed pause
        self.assertIsNone(client._delay(call, 20, problem(503)))  # max_retries spent: final
        self.assertIsNone(client._delay(call, 0, problem(500)))  # not a retry status

    def test_connection_errors_are_retried_only_where_resending_is_safe(self) -> None:
        down = httpx.ConnectError("refused")
        ok = httpx.Response(200, json=EVALUATION)
        transport, seen = scripted(down, ok)
        with fake(transport) as client:
            self.assertEqual(client.get_evaluation("e1").id, "e1")  # GET: retried
        self.assertEqual(len(seen), 2)
        transport, seen = scripted(down, ok)
        with fake(transport) as client, self.assertRaises(httpx.ConnectError):
            client.evaluate("jury", "p", "r")  # could judge twice: not resent
        self.assertEqual(len(seen), 1)
        transport, seen = scripted(down, ok)
        with fake(transport) as client:
            self.assertEqual(client.evaluate("jury", "p", "r", idempotency_key="k").id, "e1")
        self.assertEqual(len(seen), 2)  # the key makes a resend safe
        for send in (
            lambda c: c.claim("alice"),
            lambda c: c.decide("i1", "alice", 4),
            lambda c: c.release("i1", "alice"),
            lambda c: c.batch([{"panel": "jury", "input": {"prompt": "p", "response": "r"}}]),
        ):
            transport, seen = scripted(down, ok)
            with fake(transport) as client, self.assertRaises(httpx.ConnectError):
                send(client)
            self.assertEqual(len(seen), 1)
        transport, seen = scripted(down)
        with fake(transport, max_retries=1) as client, self.assertRaises(httpx.ConnectError):
            client.panels()
        self.assertEqual(len(seen), 2)

    def test_non_problem_error_bodies_still_raise(self) -> None:
        transport, _ = scripted(httpx.Response(502, text="<html>bad gateway</html>"))
        with fake(transport) as client, self.assertRaises(QuorumAPIError) as caught:
            client.panels()
        self.assertIs(type(caught.exception), QuorumAPIError)
        self.assertEqual(caught.exception.status, 502)
        self.assertIn("bad gateway", str(caught.exception))

    def test_wait_for_times_out_on_a_pending_evaluation(self) -> None:
        pending = httpx.Response(200, json={**EVALUATION, "status": "pending"})
        transport, _ = scripted(pending)
        with fake(transport) as client, self.assertRaisesRegex(TimeoutError, "e1"):
            client.wait_for("e1", timeout=0.05, poll_interval=0.01)

    def test_wait_for_polls_until_the_evaluation_is_done(self) -> None:
        pending = httpx.Response(200, json={**EVALUATION, "status": "pending"})
        transport, seen = scripted(pending, pending, httpx.Response(200, json=EVALUATION))
        with fake(transport) as client:
            done = client.wait_for("e1", timeout=5, poll_interval=0.01)
        self.assertEqual(done.status, "decided")
        self.assertEqual(len(seen), 3)
        self.assertTrue(all(r.url.path == "/v1/evaluations/e1" for r in seen))


class AsyncRetryTest(unittest.IsolatedAsyncioTestCase):
    async def test_async_client_retries_too(self) -> None:
        transport, seen = scripted(
            problem(429, **{"Retry-After": "0"}), httpx.Response(200, json=EVALUATION)
        )
        async with AsyncQuorumClient("http://quorum.test", transport=transport) as client:
            self.assertEqual((await client.get_evaluation("e1")).id, "e1")
        self.assertEqual(len(seen), 2)
        transport, seen = scripted(problem(503, **{"Retry-After": "0"}))
        async with AsyncQuorumClient("http://q.test", transport=transport, max_retries=1) as c:
            with self.assertRaises(UnavailableError):
                await c.panels()
        self.assertEqual(len(seen), 2)

    async def test_async_wait_for(self) -> None:
        pending = httpx.Response(200, json={**EVALUATION, "status": "pending"})
        transport, seen = scripted(pending, httpx.Response(200, json=EVALUATION))
        async with AsyncQuorumClient("http://quorum.test", transport=transport) as client:
            done = await client.wait_for("e1", timeout=5, poll_interval=0.01)
        self.assertEqual(done.status, "decided")
        self.assertEqual(len(seen), 2)
        transport, _ = scripted(pending)
        async with AsyncQuorumClient("http://quorum.test", transport=transport) as client:
            with self.assertRaisesRegex(TimeoutError, "e1"):
                await client.wait_for("e1", timeout=0.05, poll_interval=0.01)


if __name__ == "__main__":
    unittest.main()
