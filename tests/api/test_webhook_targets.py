"""Webhook SSRF: targets checked at request time and at delivery after DNS resolution,
public addresses only unless QUORUM_WEBHOOK_ALLOW says otherwise; per-key delivery
concurrency; bounded retries. Every receiver is on loopback, and no test sends traffic
anywhere else (public addresses are only checked, never called)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.services.webhook_targets import BlockedTarget, WebhookGuard
from api.services.webhooks import MAX_ATTEMPTS, WebhookSender, delivery, verify
from tests.conftest import ServerThread, write_config
from tests.doubles.judge_server import JudgeDouble

NAMES = {
    "rebind.test": ["127.0.0.1"],
    "inside.test": ["10.0.0.5"],
    "mixed.test": ["8.8.8.8", "10.1.1.1"],
}


async def fake_dns(host: str, port: int) -> list[str]:
    """A resolver for the tests: no query leaves the machine."""
    if host in NAMES:
        return NAMES[host]
    raise OSError(f"{host} does not resolve here")


REFUSED = [
    "http://127.0.0.1/hook",
    "http://localhost.localdomain.invalid/hook",  # does not resolve
    "http://2130706433/hook",  # 127.0.0.1 in decimal
    "http://0177.0.0.1/hook",  # octal
    "http://0x7f.1/hook",  # hex, short form
    "http://127.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/latest/meta-data",  # 169.254.169.254, mapped
    "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
    "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",  # CGNAT
    "http://224.0.0.1/hook",  # multicast
    "http://0.0.0.0/hook",
    "http://240.0.0.1/hook",  # reserved
    "http://255.255.255.255/hook",
    "http://rebind.test/hook",  # a name that resolves to loopback
    "http://mixed.test/hook",  # one private address among public ones is enough
    "http://user:pass@8.8.8.8/hook",  # userinfo
    "http://8.8.8.8@127.0.0.1/hook",
    "ftp://8.8.8.8/hook",
    "file:///etc/passwd",
    "http://999.1.1.1/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_targets_are_refused(url: str) -> None:
    guard = WebhookGuard(resolver=fake_dns)
    with pytest.raises(BlockedTarget):
        asyncio.run(guard.check(url))


def test_public_targets_pass_the_check_without_being_called() -> None:
    guard = WebhookGuard(resolver=fake_dns)
    for url in ("http://8.8.8.8/hook", "https://[2606:4700::1111]:8443/h", "https://93.184.216.34"):
        asyncio.run(guard.check(url))
    target = asyncio.run(guard.target("https://[2606:4700::1111]:8443/h?x=1"))
    assert target.url == "https://[2606:4700::1111]:8443/h?x=1" and target.sni_hostname is None


def test_the_allow_list_opens_exactly_what_it_names() -> None:
    guard = WebhookGuard(["127.0.0.1/32", "inside.test"], resolver=fake_dns)
    asyncio.run(guard.check("http://127.0.0.1:9/hook"))
    asyncio.run(guard.check("http://rebind.test/hook"))  # resolves into the allowed range
    asyncio.run(guard.check("http://inside.test/hook"))  # allowed by name
    asyncio.run(guard.check("http://[::ffff:127.0.0.1]/hook"))  # the mapped form of it
    for url in ("http://127.0.0.2/hook", "http://10.0.0.5/hook", "http://[::1]/hook"):
        with pytest.raises(BlockedTarget):
            asyncio.run(guard.check(url))
    with pytest.raises(BlockedTarget):  # userinfo is refused whatever the list says
        asyncio.run(guard.check("http://u:p@127.0.0.1/hook"))
    target = asyncio.run(guard.target("https://rebind.test:8443/h"))
    assert (target.url, target.host_header, target.sni_hostname) == (
        "https://127.0.0.1:8443/h",
        "rebind.test:8443",
        "rebind.test",
    )


def test_a_bad_allow_list_entry_is_a_setting_error() -> None:
    from pydantic import ValidationError

    from api.settings import Settings

    with pytest.raises(ValidationError, match="neither a CIDR nor a host name"):
        Settings(webhook_allow=["10.0.0.0/8", "not a host!"])


def test_verify_is_false_on_a_non_ascii_header() -> None:
    assert verify("s", b"{}", "t=1,v1=\u00e9\u00e9") is False
    assert verify("s", b"{}", f"t={int(time.time())},v1=\u0663\u0663") is False
    assert verify("s", b"{}", "t=\u0663,v1=ab") is False  # Arabic-Indic digit


# --- request time, over HTTP, allow-list off -----------------------------------------


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[str]:
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("ssrf")
    settings = Settings(
        database_url=f"sqlite:///{root / 'q.db'}", config=write_config(root / "q.yaml", double)
    )
    with ServerThread(create_app(settings)) as server:
        yield server.url


BODY = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/hook",
        "http://2130706433/",
        "http://a:b@[::1]/",
        "http://localhost/",
        "HTTP://127.0.0.1/hook",  # a scheme is case-insensitive: checked, not a pattern error
    ],
)
def test_a_loopback_webhook_is_422_at_request_time(strict: str, url: str) -> None:
    r = httpx.post(f"{strict}/v1/evaluations", json={**BODY, "webhook_url": url}, timeout=30)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("webhook_url refused:")


def test_a_batch_refuses_only_the_item_with_a_bad_webhook(strict: str) -> None:
    items = [BODY, {**BODY, "webhook_url": "http://169.254.169.254/latest"}]
    r = httpx.post(f"{strict}/v1/evaluations/batch", json={"items": items}, timeout=30)
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["data"]] == [200, 422]


# --- delivery time --------------------------------------------------------------------


class Sink:
    """A loopback receiver: /fast answers at once, /slow after `delay_s`; it records the
    Host header and the most deliveries it held at once per path."""

    def __init__(self, delay_s: float = 2.0) -> None:
        self.delay_s = delay_s
        self.got: list[tuple[str, str, float]] = []
        self.now = {"/fast": 0, "/slow": 0}
        self.most = {"/fast": 0, "/slow": 0}
        self.lock = threading.Lock()
        self.app = Starlette(
            routes=[Route(p, self.hook, methods=["POST"]) for p in ("/fast", "/slow", "/fail")]
        )

    async def hook(self, request: Request) -> Response:
        path = request.url.path
        if path == "/fail":
            return Response(status_code=500)
        with self.lock:
            self.now[path] += 1
            self.most[path] = max(self.most[path], self.now[path])
        if path == "/slow":
            await asyncio.sleep(self.delay_s)
        with self.lock:
            self.now[path] -= 1
            self.got.append((path, request.headers["host"], time.monotonic()))
        return Response(status_code=204)


async def _outbox(db: Path, rows: list[Any]) -> Any:
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade

    await asyncio.to_thread(upgrade, f"sqlite:///{db}")
    engine = make_engine(f"sqlite:///{db}")
    sessions = make_session_factory(engine)
    async with sessions() as session:
        for row in rows:
            session.add(row)
        await session.commit()
    return engine, sessions


async def _statuses(sessions: Any) -> list[tuple[str, str, int, str | None]]:
    from sqlmodel import select

    from api.store.tables import WebhookDeliveryRow

    async with sessions() as session:
        rows = (await session.exec(select(WebhookDeliveryRow))).all()
        return sorted((r.url, r.status, r.attempts, r.last_error) for r in rows)


def test_delivery_checks_the_address_after_resolving(tmp_path: Path) -> None:
    """DNS rebinding: the name passed the request-time check, now it resolves to
    loopback. Refused without the allow-list (no retries); sent to the checked address,
    with the name as Host, with it."""
    sink = Sink()
    with ServerThread(sink.app) as server:
        url = f"http://rebind.test:{server.port}/fast"

        async def run(allow: list[str]) -> list[tuple[str, str, int, str | None]]:
            db = tmp_path / f"{len(allow)}.db"
            engine, sessions = await _outbox(
                db, [delivery("e1", url, "evaluation.completed", {}, None)]
            )
            sender = WebhookSender(sessions, None, guard=WebhookGuard(allow, resolver=fake_dns))
            try:
                await sender.send_due()
                await sender.drain()
                return await _statuses(sessions)
            finally:
                await sender.close()
                await engine.dispose()

        [(_, status, attempts, error)] = asyncio.run(run([]))
        assert (status, attempts) == ("failed", 1)
        assert error is not None and "not a public address" in error
        assert sink.got == []
        [(_, status, _, _)] = asyncio.run(run(["127.0.0.1/32"]))
        assert status == "delivered"
        assert [(p, h) for p, h, _ in sink.got] == [("/fast", f"rebind.test:{server.port}")]


def test_one_keys_slow_endpoint_does_not_delay_another_key(tmp_path: Path) -> None:
    sink = Sink(delay_s=2.0)
    with ServerThread(sink.app) as server:
        base = f"http://127.0.0.1:{server.port}"
        slow = [
            delivery(f"s{i}", f"{base}/slow", "evaluation.completed", {}, "key-a") for i in range(8)
        ]
        fast = delivery("f1", f"{base}/fast", "evaluation.completed", {}, "key-b")

        async def run() -> float:
            engine, sessions = await _outbox(tmp_path / "q.db", [*slow, fast])
            guard = WebhookGuard(["127.0.0.1/32"])
            sender = WebhookSender(sessions, None, guard=guard, per_key=2)
            loop = asyncio.create_task(sender.run(idle_s=0.05))
            started = time.monotonic()
            try:
                while not any(p == "/fast" for p, _, _ in sink.got):
                    assert time.monotonic() - started < 10
                    await asyncio.sleep(0.02)
                fast_after = time.monotonic() - started
                while len(sink.got) < 9:
                    assert time.monotonic() - started < 30
                    await asyncio.sleep(0.05)
                return fast_after
            finally:
                loop.cancel()
                await asyncio.gather(loop, return_exceptions=True)
                await sender.close()
                await engine.dispose()

        fast_after = asyncio.run(run())
    assert fast_after < 1.5  # not behind key-a's 2 s deliveries
    assert sink.most["/slow"] == 2  # key-a never had more than per_key in flight


def test_retries_are_bounded(tmp_path: Path) -> None:
    sink = Sink()
    with ServerThread(sink.app) as server:
        url = f"http://127.0.0.1:{server.port}/fail"
        row = delivery("e1", url, "evaluation.completed", {}, None)
        row.attempts = MAX_ATTEMPTS - 1  # the last attempt left

        async def run() -> list[tuple[str, str, int, str | None]]:
            engine, sessions = await _outbox(tmp_path / "q.db", [row])
            sender = WebhookSender(sessions, None, guard=WebhookGuard(["127.0.0.1/32"]))
            try:
                await sender.send_due()
                await sender.drain()
                return await _statuses(sessions)
            finally:
                await sender.close()
                await engine.dispose()

        [(_, status, attempts, error)] = asyncio.run(run())
    assert (status, attempts, error) == ("failed", MAX_ATTEMPTS, "HTTP 500")


def test_a_receiver_trickling_its_answer_is_cut_at_the_attempt_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx's timeout bounds each read: a receiver sending its status line a byte every
    0.2 s held one attempt for as long as it liked (108 s in a probe, for a 5 s limit)."""
    import api.services.webhooks as webhooks

    monkeypatch.setattr(webhooks, "ATTEMPT_TIMEOUT_S", 0.5)

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.2)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def run() -> tuple[list[tuple[str, str, int, str | None]], float]:
        server = await asyncio.start_server(trickle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        row = delivery("t1", f"http://127.0.0.1:{port}/hook", "evaluation.completed", {}, None)
        engine, sessions = await _outbox(tmp_path / "q.db", [row])
        sender = WebhookSender(sessions, None, guard=WebhookGuard(["127.0.0.1/32"]))
        started = time.monotonic()
        try:
            await sender.send_due()
            await sender.drain()
            return await _statuses(sessions), time.monotonic() - started
        finally:
            await sender.close()
            await engine.dispose()
            server.close()

    [(_, status, attempts, error)], took = asyncio.run(run())
    assert (status, attempts, error) == ("pending", 1, "no answer within 0.5 s")
    assert took < 3  # the whole answer would take 8 s
