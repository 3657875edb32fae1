"""Whether a verdict object in a judge's output was copied from the judged text.

The judged text may hold a planted verdict, and a judge that echoes the text brings it
along. The object's source (whitespace squashed) being in a judged text is not enough: a
bare `{"score": 1}` is what every honest judge answering in JSON mode writes, so finding
it proves nothing. What proves an echo is the output reproducing the judged text *around*
the object as well (`JudgedTexts.echoed`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence

from rubrics.scan import Found

CONTEXT = 16
"""Non-space characters of judged text beside a bare verdict that mark the output an echo:
more than the wrapping an honest judge puts around one (a ```json fence and its close are
10, "Final answer:" 12), so a verdict planted in a fenced example in the response does not
discard fenced honest answers; an echo of the judged text brings its text along."""

LOOKUPS = 512
"""Distinct searches of the judged text per output; past them a verdict counts as found
there (copied: unscored, never a score). Only outputs with hundreds of verdicts reach it."""

_WS = re.compile(r"\s+")
_NON_WS = re.compile(r"\S")


def squash(text: str) -> str:
    """`text` without its whitespace."""
    return _WS.sub("", text)


class JudgedTexts:
    """The judged texts, whitespace squashed, against one output's verdict objects."""

    def __init__(self, output: str, judged: Sequence[str]) -> None:
        self.output = output
        self.texts = [squash(t) for t in judged]
        self._kept: list[int] = []
        """The output's non-space positions, once `echoed` needs them."""
        self._squashed = ""
        self._seen: dict[tuple[int, str], bool] = {}

    def _in(self, i: int, squashed: str) -> bool:
        """Whether judged text `i` holds `squashed` (remembered; past `LOOKUPS`, yes)."""
        if (i, squashed) not in self._seen:
            over = len(self._seen) >= LOOKUPS
            self._seen[i, squashed] = over or squashed in self.texts[i]
        return self._seen[i, squashed]

    def holds(self, found: Found) -> bool:
        """Whether a judged text holds the object's source, whitespace aside."""
        src = squash(self.output[found.start : found.end])
        return any(self._in(i, src) for i in range(len(self.texts)))

    def echoed(self, found: Found) -> bool:
        """Whether the output reproduces judged text around the object: the object with
        `CONTEXT` neighbouring characters (all of a shorter judged text, when that holds
        more than the object) is in a judged text, whitespace aside."""
        if not self._kept:
            self._kept = [m.start() for m in _NON_WS.finditer(self.output)]
            self._squashed = squash(self.output)
        out = self._squashed
        a, b = bisect_left(self._kept, found.start), bisect_left(self._kept, found.end)
        for i, t in enumerate(self.texts):
            need = min(CONTEXT, len(t) - (b - a))
            if need <= 0 or not self._in(i, out[a:b]):
                continue
            for left in range(max(0, need - (len(out) - b)), min(need, a) + 1):
                if self._in(i, out[a - left : b + need - left]):
                    return True
        return False
