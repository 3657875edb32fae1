"""Bad arguments and answers that are not Quorum's, over real HTTP on loopback: a base URL
or timeout that cannot work is a ValueError when the client is built; a proxy's HTML page,
a redirect or a body of the wrong shape raise the client's own errors with a readable
message, never a KeyError, a JSONDecodeError or a pydantic error about the answer."""

from __future__ import annotations

import json
import socket
import threading
import unittest
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
from fakes import EVALUATION

from quorum_client import (
    AsyncQuorumClient,
    NotFoundError,
    QuorumAPIError,
    QuorumClient,
    RateLimitError,
    UnexpectedResponseError,
)

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
Answer = tuple[int, dict[str, str], str]


class Canned(BaseHTTPRequestHandler):
    """Answers every request with `answers[path]` (status, headers, body); records paths."""

    answers: ClassVar[dict[str, Answer]] = {}
    paths: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.paths.append(self.path)
        default: Answer = (200, {"Content-Type": "application/json"}, '{"data": []}')
        status, headers, text = self.answers.get(self.path.split("?")[0], default)
        content = text.encode()
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(content))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(answers: dict[str, Answer]) -> Iterator[str]:
    """A loopback HTTP server giving the canned answers; yields its base URL."""
    Canned.answers, Canned.paths = answers, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def html(status: int, page: str) -> Answer:
    return status, {"Content-Type": "text/html"}, page


def json_answer(status: int, body: object, kind: str = "application/json") -> Answer:
    return status, {"Content-Type": kind}, json.dumps(body)


class ArgumentsTest(unittest.TestCase):
    def test_a_base_url_that_cannot_work_is_refused_when_built(self) -> None:
        for url, why in [
            ("127.0.0.1:8000", "http:// or https://"),
            ("quorum.internal", "http:// or https://"),
            ("ftp://quorum", "http:// or https://"),
            ("http://", "no host"),
            (" http://quorum:8000", "spaces"),
            ("http://quorum:8000/ v1", "spaces"),
            ("http://quorum:8000?tenant=a", "query"),
            ("http://quorum:99999", "port"),
            ("", "empty"),
        ]:
            for cls in (QuorumClient, AsyncQuorumClient):
                with self.subTest(url=url, cls=cls.__name__), self.assertRaises(ValueError) as c:
                    cls(url)
                self.assertIn(why, str(c.exception))
                self.assertIn("base_url", str(c.exception))

    def test_a_timeout_must_be_a_finite_number_of_seconds(self) -> None:
        for timeout in (0, -1, float("nan"), float("inf"), 1e300, 3601):
            for cls in (QuorumClient, AsyncQuorumClient):
                with (
                    self.subTest(timeout=timeout, cls=cls.__name__),
                    self.assertRaisesRegex(ValueError, "timeout must be above 0"),
                ):
                    cls("http://quorum.test", timeout=timeout)
        with self.assertRaisesRegex(ValueError, "max_retries"):
            QuorumClient("http://quorum.test", max_retries=-1)
        with self.assertRaisesRegex(ValueError, "max_wait"):
            QuorumClient("http://quorum.test", max_wait=float("nan"))
        QuorumClient("http://quorum.test", timeout=0.001, max_retries=0, max_wait=0).close()
        QuorumClient("http://quorum.test", timeout=3600).close()
        # What httpx itself takes, as before the checks: no timeout, a Timeout, a URL.
        QuorumClient("http://quorum.test", timeout=None).close()
        QuorumClient("http://quorum.test", timeout=httpx.Timeout(5.0, connect=1.0)).close()
        QuorumClient(httpx.URL("http://quorum.test:8000/prefix/")).close()
        with self.assertRaisesRegex(ValueError, "finite"):
            QuorumClient("http://quorum.test", timeout=httpx.Timeout(float("inf")))

    def test_a_refused_url_never_shows_its_password(self) -> None:
        with self.assertRaises(ValueError) as c:
            QuorumClient("http://ops:s3cret@quorum.test:8000?x=1")
        self.assertIn("'http://***@quorum.test:8000?x=1'", str(c.exception))
        self.assertNotIn("s3cret", str(c.exception))

    def test_an_api_key_that_cannot_be_a_header_is_refused_without_showing_it(self) -> None:
        for key in ("qk_secret\n", "qk secret", "qk_sécret"):
            with self.subTest(key=key), self.assertRaisesRegex(ValueError, "api_key") as c:
                QuorumClient("http://quorum.test", key)
            self.assertNotIn("secret", str(c.exception))


class BaseUrlTest(unittest.TestCase):
    def test_a_trailing_slash_or_a_path_prefix_is_kept(self) -> None:
        with serving({}) as url:
            for base, path in [
                (url, "/v1/panels"),
                (url + "/", "/v1/panels"),
                (url + "/quorum", "/quorum/v1/panels"),
                (url + "/quorum/", "/quorum/v1/panels"),
            ]:
                Canned.paths.clear()
                with QuorumClient(base, max_retries=0) as client:
                    self.assertEqual(client.panels(), [])
                self.assertEqual(Canned.paths, [path], base)


class AnswersTest(unittest.TestCase):
    def raised(self, answer: Answer, path: str = "/v1/evaluations/e1") -> QuorumAPIError:
        with (
            serving({path: answer}) as url,
            QuorumClient(url, max_retries=0) as client,
            self.assertRaises(QuorumAPIError) as c,
        ):
            if path == "/v1/panels":
                client.panels()
            else:
                client.get_evaluation("e1")
        return c.exception

    def test_a_proxys_html_error_page_reads_as_text(self) -> None:
        error = self.raised(html(502, NGINX_502))
        self.assertIs(type(error), QuorumAPIError)
        self.assertEqual(str(error), "502 Bad Gateway: 502 Bad Gateway nginx")
        self.assertEqual(error.problem["detail"], "502 Bad Gateway nginx")

    def test_a_problem_without_detail_or_with_odd_types(self) -> None:
        error = self.raised(json_answer(404, {"title": "Not found", "status": 404}))
        self.assertIsInstance(error, NotFoundError)
        self.assertEqual(str(error), "404 Not found")
        odd = {"title": 5, "detail": ["x"]}
        error = self.raised(json_answer(429, odd, "application/problem+json"))
        self.assertIsInstance(error, RateLimitError)
        self.assertEqual(str(error), "429 Error")
        self.assertEqual(error.problem["title"], 5)  # the problem itself is kept as sent

    def test_an_html_page_where_json_is_due(self) -> None:
        error = self.raised(html(200, "<html><title>Sign in</title><p>Single sign-on</p></html>"))
        self.assertIsInstance(error, UnexpectedResponseError)
        self.assertEqual(error.status, 200)
        message = str(error)
        self.assertIn("text/html from http://127.0.0.1:", message)
        self.assertIn("/v1/evaluations/e1", message)
        self.assertIn(": Sign in: Single sign-on", message)
        self.assertNotIn("\n", message)

    def test_json_of_another_shape(self) -> None:
        bodies: list[object] = [{}, [], {"data": 5}, {"data": [{"name": 1}]}]
        for body in bodies:
            with self.subTest(body=body):
                error = self.raised(json_answer(200, body), "/v1/panels")
                self.assertIsInstance(error, UnexpectedResponseError)
                self.assertIn("unreadable", str(error))
                self.assertIsNotNone(error.__cause__)
        error = self.raised(json_answer(200, {**EVALUATION, "status": "odd"}))
        self.assertIsInstance(error, UnexpectedResponseError)
        self.assertIn("status:", str(error))

    def test_a_redirect_or_an_empty_answer(self) -> None:
        moved = (302, {"Location": "https://quorum.example/v1/evaluations/e1"}, "")
        error = self.raised(moved)
        self.assertIsInstance(error, UnexpectedResponseError)
        self.assertIn("a redirect to https://quorum.example/v1/evaluations/e1", str(error))
        error = self.raised((204, {}, ""))
        self.assertIsInstance(error, UnexpectedResponseError)
        self.assertEqual(error.status, 204)

    def test_nothing_listening_is_the_httpx_connect_error(self) -> None:
        with socket.socket() as probe:  # documented: not retried, raised as httpx's own
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with (
            QuorumClient(f"http://127.0.0.1:{port}", max_retries=0) as client,
            self.assertRaises(httpx.ConnectError),
        ):
            client.panels()


class AsyncAnswersTest(unittest.IsolatedAsyncioTestCase):
    async def test_the_async_client_reads_them_alike(self) -> None:
        answers = {"/v1/panels": html(200, "<p>login</p>"), "/v1/rubrics": html(502, NGINX_502)}
        with serving(answers) as url:
            async with AsyncQuorumClient(url + "/", max_retries=0) as client:
                with self.assertRaisesRegex(UnexpectedResponseError, "login"):
                    await client.panels()
                with self.assertRaisesRegex(QuorumAPIError, "^502 Bad Gateway: 502 Bad Gateway"):
                    await client.rubrics()


if __name__ == "__main__":
    unittest.main()
