"""`Throttle`: which failures the callback logs. The first of each kind at once, then at
most one a minute of that kind: a new kind of failure (Quorum answers 401 after a key
rotation, while it was timing out before) shows at once, a repeated one does not flood
the application's log, and an outage that starts again after a quiet minute is logged."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """`throttle(kind)`: True when an occurrence of `kind` should be logged."""

    def __init__(
        self,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 256,
    ) -> None:
        self.every_s = every_s
        self.clock = clock
        self.max_kinds = max_kinds
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()  # failures are noted by the sender thread and the loop

    def __call__(self, kind: str) -> bool:
        with self._lock:
            now = self.clock()
            last = self._last.get(kind)
            if last is not None and now - last < self.every_s:
                return False
            if last is None and len(self._last) >= self.max_kinds:
                self._last.clear()  # kinds are few; bounded all the same
            self._last[kind] = now
            return True


def kind_of(exc: BaseException) -> str:
    """A failure's kind: its type and, for an error answer, its status (`AuthError 401`)."""
    status = getattr(exc, "status", None)
    return f"{type(exc).__name__} {status}" if isinstance(status, int) else type(exc).__name__
