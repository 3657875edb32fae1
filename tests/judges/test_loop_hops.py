"""The two event-loop hops taken out of a judge call (judges.loop_hops), and the adapter's
use of them: litellm's synchronous half on the loop's thread, aiohttp's body written at once."""

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from judges import CallErrorKind, ChatRequest, JudgeCallError, loop_hops
from judges.litellm_client import LiteLLMClient, _litellm_sync_half, configure_litellm
from tests.doubles.judge_server import JudgeDouble
from tests.support.chat import MESSAGES, request


@pytest.fixture(scope="module", autouse=True)
def _configured() -> None:
    configure_litellm()


class CountingPool(ThreadPoolExecutor):
    """The loop's default executor, counting what it is handed."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.handed: list[Callable[..., Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.handed.append(fn)
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def pool() -> Iterator[CountingPool]:
    executor = CountingPool()  # each test makes it its loop's default executor
    yield executor
    executor.shutdown(wait=True)


def where() -> int:
    return threading.get_ident()


async def test_matched_work_runs_inline_and_is_ready_when_awaited(pool: CountingPool) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(pool)
    loop_hops.install(loop)
    with loop_hops.inline_sync(lambda func: func is where):
        future = loop.run_in_executor(None, where)
        assert future.done()  # no hop: nothing to wait for
        assert await future == threading.get_ident()
    assert pool.handed == []


async def test_everything_else_still_goes_to_the_pool(pool: CountingPool) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(pool)
    loop_hops.install(loop)
    loop_hops.install(loop)  # idempotent
    outside = await loop.run_in_executor(None, where)  # no inline_sync: the pool
    with loop_hops.inline_sync(lambda func: False):
        unmatched = await loop.run_in_executor(None, where)
    with loop_hops.inline_sync(lambda func: True):
        with_args = await loop.run_in_executor(None, max, 1, 2)  # arguments: the pool
    assert threading.get_ident() not in (outside, unmatched)
    assert with_args == 2
    assert len(pool.handed) == 3


async def test_an_inline_failure_is_raised_where_it_is_awaited() -> None:
    loop = asyncio.get_running_loop()
    loop_hops.install(loop)

    def broken() -> None:
        raise ValueError("bad parameter")

    with loop_hops.inline_sync(lambda func: func is broken):
        future = loop.run_in_executor(None, broken)
    with pytest.raises(ValueError, match="bad parameter"):
        await future


async def test_eager_start_finishes_a_coroutine_that_never_waits() -> None:
    loop = asyncio.get_running_loop()
    steps: list[str] = []

    async def writes_at_once() -> str:
        steps.append("written")
        return "done"

    started = loop_hops._eager(loop, writes_at_once(), loop.create_task)
    assert steps == ["written"]  # before any turn of the loop
    assert started.done() and started.result() == "done"


async def test_eager_start_hands_a_waiting_coroutine_to_a_task() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[int] = loop.create_future()
    steps: list[str] = []

    async def waits_for_drain() -> int:
        steps.append("first")
        got = await gate
        steps.append("second")
        return got + 1

    task = loop_hops._eager(loop, waits_for_drain(), loop.create_task)
    assert steps == ["first"] and not task.done()
    gate.set_result(41)
    assert await task == 42
    assert steps == ["first", "second"]


async def test_a_resumed_coroutine_sees_its_cancellation() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    cleaned: list[str] = []

    async def waits_forever() -> None:
        try:
            await gate
        finally:
            cleaned.append("closed the connection")

    task = loop_hops._eager(loop, waits_forever(), loop.create_task)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["closed the connection"]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="aiohttp starts its writer eagerly")
async def test_other_tasks_are_made_as_before() -> None:
    loop = asyncio.get_running_loop()
    loop_hops.install(loop)

    async def plain() -> int:
        return 7

    task = asyncio.create_task(plain(), name="plain")
    assert isinstance(task, asyncio.Task) and task.get_name() == "plain"
    assert await task == 7


async def test_an_openai_compatible_call_runs_litellms_sync_half_inline(
    double: JudgeDouble, pool: CountingPool
) -> None:
    asyncio.get_running_loop().set_default_executor(pool)
    client = LiteLLMClient()
    try:
        result = await client.complete(request(double, "fixed-4"))
        assert '"score": 4' in result.text
        with pytest.raises(JudgeCallError) as failed:  # errors are mapped as before
            await client.complete(request(double, "status-500"))
        assert failed.value.kind is CallErrorKind.SERVER_ERROR
    finally:
        await client.aclose()
    # neither call's synchronous half went through the pool (the openai SDK hands it its
    # one-off platform probe)
    assert not [f for f in pool.handed if _litellm_sync_half(f)]


async def test_other_providers_keep_litellms_thread(pool: CountingPool) -> None:
    asyncio.get_running_loop().set_default_executor(pool)
    client = LiteLLMClient()
    try:
        with pytest.raises(JudgeCallError):  # nothing listens there: the call fails
            await client.complete(
                ChatRequest(
                    model="anthropic/claude-3-5-haiku-20241022",
                    messages=MESSAGES,
                    api_base="http://127.0.0.1:9/v1",
                    timeout_s=2,
                )
            )
    finally:
        await client.aclose()
    assert len([f for f in pool.handed if _litellm_sync_half(f)]) == 1
