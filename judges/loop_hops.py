"""Two event-loop hops less per judge call, so that concurrent calls pipeline instead of
moving in lockstep.

Every time a call yields to the event loop it waits at the back of the loop's ready
queue, behind the work of every other call in flight. On the way out a judge call yields
at two places that do no I/O of their own:

- litellm's `acompletion` runs its synchronous half (`completion`, parameter mapping,
  ~1 ms of CPU that returns the coroutine that makes the request) in the loop's default
  thread pool, and comes back through `call_soon_threadsafe` and a task wake-up;
- aiohttp writes a request's body from a task of its own; on Python 3.12+ it starts that
  task eagerly (`eager_start=True`), on 3.11 the body waits for the task's first turn.

With 48 calls in flight (16 items x 3 judges), each call's request went out only after
the pre-send work of all the others, responses came back in one burst, and the panel ran
in waves whose length was the CPU of all the calls in a wave plus the judge's latency
(docs/benchmarks.md, "the 200 ms judge's added latency, explained"). `install(loop)`
removes both hops on one loop: under `inline_sync(match)`, a function handed to the
default executor that `match` accepts runs at once on the loop's thread and its result
is ready when awaited (everything else goes to the thread pool as before); and on Python
3.11 aiohttp's body writer is started eagerly, as aiohttp itself does on 3.12+. The
adapter (`judges.litellm_client`) decides what may run inline: only litellm's synchronous
half, only for providers whose setup reads nothing but parameters and the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any

Matcher = Callable[[object], bool]

_INLINE: contextvars.ContextVar[Matcher | None] = contextvars.ContextVar(
    "quorum_inline_sync", default=None
)
_MARK = "_quorum_loop_hops"


@contextlib.contextmanager
def inline_sync(match: Matcher | None) -> Iterator[None]:
    """While inside, default-executor work that `match` accepts runs inline (None: none)."""
    token = _INLINE.set(match)
    try:
        yield
    finally:
        _INLINE.reset(token)


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Remove the two hops on `loop` (idempotent; a loop that refuses is left as it is)."""
    if getattr(loop, _MARK, False):
        return
    try:
        setattr(loop, _MARK, True)
    except (AttributeError, TypeError):  # a loop without instance attributes
        return
    original = loop.run_in_executor

    def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        match = _INLINE.get()
        if executor is not None or args or match is None or not match(func):
            return original(executor, func, *args)
        done: asyncio.Future[Any] = loop.create_future()
        try:
            done.set_result(func())
        except Exception as exc:  # raised where the caller awaits, as from the pool
            done.set_exception(exc)
        return done

    loop.run_in_executor = run_in_executor  # type: ignore[method-assign,assignment]
    if sys.version_info < (3, 12):
        _start_body_writes_eagerly(loop)


def _write_bytes_code() -> Any:
    from aiohttp.client_reqrep import ClientRequest

    return ClientRequest.write_bytes.__code__


def _start_body_writes_eagerly(loop: asyncio.AbstractEventLoop) -> None:
    """A task factory that runs the first step of aiohttp's body writer at once (what
    `eager_start=True` does on 3.12+); every other task is made as before."""
    code = _write_bytes_code()
    previous = loop.get_task_factory()

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        if getattr(coro, "cr_code", None) is code:
            return _eager(loop, coro, lambda c: make(loop, c, **kwargs))
        return make(loop, coro, **kwargs)

    def make(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        if previous is None:
            return asyncio.Task(coro, loop=loop, **kwargs)
        return previous(loop, coro, **kwargs)

    loop.set_task_factory(factory)  # type: ignore[arg-type]


def _eager(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, Any],
    make: Callable[[Coroutine[Any, Any, Any]], asyncio.Future[Any]],
) -> asyncio.Future[Any]:
    """Run `coro` up to its first suspension now: a finished one is a done future (aiohttp
    then keeps no writer task), otherwise a task carries on from where it stopped."""
    try:
        first = coro.send(None)
    except StopIteration as stop:
        done: asyncio.Future[Any] = loop.create_future()
        done.set_result(stop.value)
        return done
    except Exception as exc:
        failed: asyncio.Future[Any] = loop.create_future()
        failed.set_exception(exc)
        return failed
    return make(_resume(coro, first))


async def _resume(coro: Coroutine[Any, Any, Any], first: Any) -> Any:
    """Carry on a coroutine already suspended once, on `first` (what it yielded)."""
    return await _Resumed(coro, first)


class _Resumed:
    """Hands what a started coroutine yields to the task awaiting this, and the task's
    results and exceptions (a cancellation) back to the coroutine."""

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        step = self._first
        while True:
            try:
                sent = yield step
            except BaseException as exc:  # the task's cancellation, passed on
                try:
                    step = self._coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                step = self._coro.send(sent)
            except StopIteration as stop:
                return stop.value
