"""The smaller trust findings: slow and half-sent requests, a key before a large body,
deeply nested metadata, nosniff, what /readyz shows, and rate limits counting items."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from api.serving import HeaderTimeoutProtocol, uvicorn_options
from api.settings import Settings
from tests.conftest import write_config
from tests.doubles.judge_server import JudgeDouble


class QuickHeaders(HeaderTimeoutProtocol):
    header_timeout_s = 0.5


class Served:
    """The app under uvicorn as `quorum serve` runs it (its protocol and limits)."""

    def __init__(self, app: Any, **options: Any) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", http=QuickHeaders, **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def connect(self) -> socket.socket:
        conn = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        return conn


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> Iterator[tuple[Served, dict[str, str]]]:
    from api.app import create_app
    from api.services.keys import create_key
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("hardening")
    db = root / "q.db"
    upgrade(f"sqlite:///{db}")

    async def make() -> dict[str, str]:
        engine = make_engine(f"sqlite:///{db}")
        sessions = make_session_factory(engine)
        wide, _ = await create_key(sessions, "wide", ["evaluate", "admin"], None, None)
        narrow, _ = await create_key(sessions, "narrow", ["evaluate"], None, 5)
        await engine.dispose()
        return {"wide": wide, "narrow": narrow}

    keys = asyncio.run(make())
    settings = Settings(
        database_url=f"sqlite:///{db}",
        config=write_config(root / "q.yaml", double),
        body_timeout_s=0.5,
        max_body_bytes=64 * 1024,
    )
    with Served(create_app(settings), limit_concurrency=4, timeout_keep_alive=1) as server:
        yield server, keys


BODY = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}


def _call(
    served: tuple[Served, dict[str, str]],
    method: str,
    path: str,
    key: str | None = "wide",
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> httpx.Response:
    server, keys = served
    sent = {"Authorization": f"Bearer {keys[key]}"} if key else {}
    return httpx.request(
        method, server.url + path, headers={**sent, **(headers or {})}, timeout=30, **kw
    )


def _answer(conn: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or `timeout`)."""
    conn.settimeout(timeout)
    got = b""
    try:
        while chunk := conn.recv(65536):
            got += chunk
    except TimeoutError:
        pass
    return got


def test_every_response_says_nosniff(served: tuple[Served, dict[str, str]]) -> None:
    answers = [
        _call(served, "GET", "/healthz"),
        _call(served, "GET", "/v1/evaluations/nope"),  # 404 problem
        _call(served, "POST", "/v1/evaluations", key=None, json=BODY),  # 401
        _call(served, "POST", "/v1/evaluations", json={"panel": "jury"}),  # 422
        _call(served, "POST", "/v1/evaluations", content=b"x" * 70_000),  # 413, middleware
        _call(served, "GET", "/openapi.json"),
    ]
    assert [r.status_code for r in answers] == [200, 404, 401, 422, 413, 200]
    assert all(r.headers["x-content-type-options"] == "nosniff" for r in answers)


def test_readyz_shows_no_path(served: tuple[Served, dict[str, str]]) -> None:
    r = _call(served, "GET", "/readyz", key=None)
    assert r.status_code == 200 and r.json() == {"status": "ready"}


def test_deep_metadata_is_422_and_fails_only_its_batch_item(
    served: tuple[Served, dict[str, str]],
) -> None:
    for depth in (9, 256, 600, 900):
        meta: Any = 1
        for _ in range(depth):
            meta = {"a": meta}
        raw = httpx.Request("POST", "/", json={**BODY, "metadata": {"x": meta}}).content
        r = _call(
            served,
            "POST",
            "/v1/evaluations",
            content=raw,
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422, (depth, r.text)
        assert "metadata nests deeper than 8 levels" in r.json()["detail"]
    wide = {"x": list(range(3000))}
    r = _call(served, "POST", "/v1/evaluations", json={**BODY, "metadata": wide})
    assert r.status_code == 422 and "more than 2000 values" in r.json()["detail"]
    items = [BODY, {**BODY, "metadata": {"x": meta}}]
    r = _call(served, "POST", "/v1/evaluations/batch", json={"items": items})
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["data"]] == [200, 422]
    fine = {"app": "shop", "trace": {"a": {"b": [1, 2, {"c": "d"}]}}}
    assert (
        _call(served, "POST", "/v1/evaluations", json={**BODY, "metadata": fine}).status_code == 200
    )


def test_a_lone_surrogate_in_metadata_is_422_and_fails_only_its_batch_item(
    served: tuple[Served, dict[str, str]],
) -> None:
    """JSON's \\ud800 escape decodes to a lone surrogate, which UTF-8 cannot encode:
    refused where it is read (a value or a key, at any depth), not a 500 when stored."""
    for metadata in (
        '{"x": "\\ud800"}',
        '{"\\udfff": 1}',
        '{"app": "a", "t": [{"u": "b\\udc00"}]}',
    ):
        raw = '{"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}, "metadata": %s}'
        r = _call(
            served,
            "POST",
            "/v1/evaluations",
            content=(raw % metadata).encode(),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422, (metadata, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert "lone UTF-16 surrogate" in r.json()["detail"]
    before = _call(served, "GET", "/v1/evaluations?panel=jury&limit=100").json()["data"]
    good = '{"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}'
    bad = (
        '{"panel": "jury", "input": {"prompt": "p", "response": "r"}, "metadata": {"x": "\\ud800"}}'
    )
    items = f"[{good}, {bad}]"
    r = _call(
        served,
        "POST",
        "/v1/evaluations/batch",
        content=f'{{"items": {items}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["data"]] == [200, 422]
    after = _call(served, "GET", "/v1/evaluations?panel=jury&limit=100").json()["data"]
    assert len(after) == len(before) + 1  # the good item, once


@pytest.mark.parametrize(
    "query",
    [
        "since=0001-01-01T00:00:00%2B14:00",
        "until=9999-12-31T23:59:59-14:00",
    ],
)
def test_a_time_with_no_utc_equivalent_is_422(
    served: tuple[Served, dict[str, str]], query: str
) -> None:
    paths = ["/v1/evaluations", "/v1/audit/export"]
    paths += ["/v1/drift"] if query.startswith("since") else []  # drift has no until
    for path in paths:
        r = _call(served, "GET", f"{path}?{query}")
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_rate_limits_count_batch_items(served: tuple[Served, dict[str, str]]) -> None:
    r = _call(served, "POST", "/v1/evaluations/batch", key="narrow", json={"items": [BODY] * 6})
    assert r.status_code == 413 and "rate limit of 5" in r.json()["detail"]  # 1 token used
    r = _call(served, "POST", "/v1/evaluations/batch", key="narrow", json={"items": [BODY] * 3})
    assert r.status_code == 200, r.text  # 3 more of the 5 a minute
    assert _call(served, "POST", "/v1/evaluations", key="narrow", json=BODY).status_code == 200
    r = _call(served, "POST", "/v1/evaluations", key="narrow", json=BODY)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_a_large_body_needs_a_key_before_it_is_read(served: tuple[Served, dict[str, str]]) -> None:
    server, _ = served
    with server.connect() as conn:
        conn.sendall(
            b"POST /v1/evaluations HTTP/1.1\r\nHost: q\r\nContent-Type: application/json\r\n"
            b"Content-Length: 60000\r\n\r\n"  # and no body at all
        )
        answer = _answer(conn, 3)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"x-content-type-options: nosniff" in answer.lower()


def test_a_half_sent_body_is_408(served: tuple[Served, dict[str, str]]) -> None:
    server, keys = served
    with server.connect() as conn:
        conn.sendall(
            b"POST /v1/evaluations HTTP/1.1\r\nHost: q\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {keys['wide']}\r\n".encode()
            + b'Content-Length: 200\r\n\r\n{"panel": '
        )
        started = time.monotonic()
        answer = _answer(conn, 5)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 3


def test_half_sent_headers_are_dropped_and_do_not_starve_others(
    served: tuple[Served, dict[str, str]],
) -> None:
    server, _ = served
    held = [server.connect() for _ in range(4)]  # limit_concurrency=4
    for conn in held:
        conn.sendall(b"POST /v1/evaluations HTTP/1.1\r\nHost: q\r\n")  # never finished
    time.sleep(0.1)
    assert _call(served, "GET", "/healthz").status_code == 503  # uvicorn's own limit
    for conn in held:
        assert _answer(conn, 3) == b""  # closed by the header deadline (0.5 s)
        conn.close()
    assert _call(served, "GET", "/healthz").status_code == 200


def test_headers_past_the_limit_are_431_before_any_key(
    served: tuple[Served, dict[str, str]],
) -> None:
    """httptools has no header limit: a 20 MB header was answered 200, and five clients
    sending 40 MB of unfinished headers raised the server's memory by 190 MB."""
    from api.serving import MAX_HEADER_BYTES

    server, _ = served
    with server.connect() as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: q\r\nX-Pad: ")
        with contextlib.suppress(OSError):  # the server may close before all is sent
            conn.sendall(b"a" * (MAX_HEADER_BYTES + 1024))
        answer = _answer(conn, 5)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"headers-too-large" in answer
    with server.connect() as conn:  # big but under the limit: served
        pad = b"a" * (MAX_HEADER_BYTES // 2)
        conn.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: q\r\nConnection: close\r\nX-Pad: " + pad + b"\r\n\r\n"
        )
        assert _answer(conn, 5).startswith(b"HTTP/1.1 200")


def test_quorum_serve_passes_the_limits_to_uvicorn() -> None:
    options = uvicorn_options(Settings(limit_concurrency=300, timeout_keep_alive_s=3))
    assert options == {
        "http": "api.serving:HeaderTimeoutProtocol",
        "limit_concurrency": 300,
        "timeout_keep_alive": 3,
    }
    config = uvicorn.Config("api.app:create_app", factory=True, **options)
    config.load()
    assert config.http_protocol_class is HeaderTimeoutProtocol
