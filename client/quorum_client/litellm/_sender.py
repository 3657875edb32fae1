"""A bounded queue and one background thread that sends what is queued.

`offer` never blocks and never raises: when the queue is full the item is dropped and
counted (logged at the 1st, 2nd, 4th, ... drop, and summed up when sending works again).
The worker calls `send` for each item; an exception there is counted and logged (the
first of each kind, then at most one a minute per kind: `Throttle`), never propagated.
The thread starts on the first offer in a process (so a proxy that forks its workers gets
one per worker) and is a daemon: `flush` waits for the queue to drain, `close` flushes
and stops it.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from quorum_client.litellm._throttle import Throttle, kind_of

T = TypeVar("T")
log = logging.getLogger("quorum_client.litellm")
_STOP = object()


def _worth_logging(count: int) -> bool:
    """Log the 1st, 2nd, 4th, 8th, ... occurrence, then every 1000th: a stalled Quorum
    says so at once without flooding the application's log."""
    return count & (count - 1) == 0 or count % 1000 == 0


@dataclass
class SenderCounts:
    enqueued: int = 0
    dropped: int = 0
    """Offered while the queue was full: never sent."""
    sent: int = 0
    failed: int = 0
    """Sent and refused, or not answered (after the client's retries)."""


class Sender(Generic[T]):
    """`send(item)` for every offered item, in a background thread, `maxsize` at most
    waiting."""

    def __init__(
        self,
        send: Callable[[T], None],
        maxsize: int,
        name: str = "quorum",
        throttle: Throttle | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("queue size must be at least 1")
        self._send = send
        self._throttle = throttle or Throttle()
        self.maxsize = maxsize
        self.name = name
        self.counts = SenderCounts()
        self._lock = threading.Lock()
        self._queue: queue.Queue[object] = queue.Queue(maxsize)
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._reported = 0  # drops already summed up in a "sending again" line
        self._closed = False

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def offer(self, item: T) -> bool:
        """Queue `item` for sending; False (and counted in `dropped`) if the queue is full
        or the sender is closed."""
        try:
            with self._lock:  # against `close`: an accepted item is queued before its _STOP
                if self._closed:
                    raise queue.Full
                self._ensure_worker()
                self._queue.put_nowait(item)
                self.counts.enqueued += 1
        except queue.Full:
            with self._lock:
                self.counts.dropped += 1
                dropped = self.counts.dropped
            if _worth_logging(dropped):
                log.warning(
                    "quorum callback: queue full (%d waiting), dropped a completion "
                    "(%d dropped so far)",
                    self.maxsize,
                    dropped,
                )
            return False
        return True

    def _ensure_worker(self) -> None:
        """Start the worker thread unless it runs (the caller holds `_lock`)."""
        if self._pid != os.getpid():  # forked: the parent's thread and queue are not ours
            self._pid, self._thread = os.getpid(), None
            self._queue = queue.Queue(self.maxsize)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name=f"{self.name}-sender", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._deliver(item)  # type: ignore[arg-type]
            finally:
                self._queue.task_done()

    def _deliver(self, item: T) -> None:
        try:
            self._send(item)
        except Exception as exc:  # never into the application: counted and logged
            with self._lock:
                self.counts.failed += 1
                failed = self.counts.failed
            if self._throttle(kind_of(exc)):
                log.warning(
                    "quorum callback: sending to Quorum failed (%d failures so far): %s",
                    failed,
                    f"{type(exc).__name__}: {exc}"[:300],
                )
        else:
            with self._lock:
                self.counts.sent += 1
                total, unreported = self.counts.dropped, self.counts.dropped - self._reported
                self._reported = total
            if unreported:
                log.warning(
                    "quorum callback: sending again; %d completion(s) dropped while the queue "
                    "was full (%d dropped in all)",
                    unreported,
                    total,
                )

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued has been handled; False if `timeout` s ran out."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout: float = 30.0) -> bool:
        """Flush, then stop the worker; what is still queued after `timeout` s is lost.
        An item offered while it closes is either refused (counted in `dropped`) or
        queued ahead of the stop, and sent."""
        with self._lock:
            self._closed = True
        done = self.flush(timeout)
        thread = self._thread
        if thread is not None and thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=1)
            except queue.Full:
                return False
            thread.join(timeout=1)
        return done
