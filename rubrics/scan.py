"""Find the JSON objects in free text, in time linear in its length.

A judge's output is prose, code fences and JSON, and untrusted: it may hold a nesting
bomb. Decoding at every `{` descends the whole nesting at each one, quadratic in the depth
(`'{"a":' * 13000` took 1.5 s). Instead a scan first matches each `{` to its `}`, reading
strings as JSON does and giving up on nesting deeper than `MAX_DEPTH`; only balanced spans
are decoded. The scan that starts at one `{` also matches every `{` it meets outside a
string (from there on they read the text alike), so a character is scanned again only
when it lies in a string for an earlier scan, and a budget bounds even that.
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any, NamedTuple

MAX_DEPTH = 128
"""Nesting deeper than this, counted from an object's own `{`, is not read as JSON."""
_BUDGET_PER_CHAR = 4
"""Scans stop after this many characters per character of text; only adversarial text
(strings inside strings, read again by each scan) comes near it."""

_TOKEN = re.compile(r'[{}\[\]"]')
_STRING_BODY = re.compile(
    r'"[^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*'
)  # JSON: no raw control chars
_OPENER = {"}": "{", "]": "["}


class Found(NamedTuple):
    """A top-level JSON object: `text[start:end]` decodes to `obj`."""

    start: int
    end: int
    obj: dict[str, Any]


def objects(text: str) -> list[Found]:
    """Every top-level JSON object in `text`, in order: as decoding at each `{` in turn and
    resuming after each object found would give, but bounded."""
    decoder = json.JSONDecoder()
    spans = _Spans(text)
    found: list[Found] = []
    i = text.find("{")
    while i != -1:
        if spans.end(i) != -1:
            try:
                obj, end = decoder.raw_decode(text, i)
            except (json.JSONDecodeError, RecursionError):
                pass
            else:  # a balanced span that decodes is an object: it starts with `{`
                found.append(Found(i, end, obj))
                i = text.find("{", end)
                continue
        i = text.find("{", i + 1)
    return found


class _Spans:
    """Where each `{` of a text closes (-1: it does not, or too deep), found on demand."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ends: dict[int, int] = {}
        self.budget = _BUDGET_PER_CHAR * len(text) + 1_024

    def end(self, start: int) -> int:
        if start not in self.ends:
            self._scan(start)
        return self.ends.get(start, -1)

    def _scan(self, start: int) -> None:
        """Match brackets from `start` until its object closes or cannot: a bad string,
        a mismatched bracket or the end of the text fails every bracket still open."""
        text, ends = self.text, self.ends
        stack: deque[tuple[int, str]] = deque([(start, "{")])
        p = start + 1
        while stack and self.budget > 0:
            m = _TOKEN.search(text, p)
            if m is None:
                break
            q, c = m.start(), m.group()
            if c == '"':
                body = _STRING_BODY.match(text, q)
                close = body.end() if body else q + 1
                self.budget -= close - p
                if close == len(text) or text[close] != '"':
                    break
                p = close + 1
                continue
            self.budget -= q + 1 - p
            p = q + 1
            if c in "{[":
                stack.append((q, c))
                if len(stack) > MAX_DEPTH:  # too deep for the outermost: it fails
                    pos, kind = stack.popleft()
                    ends[pos] = -1
                continue
            pos, kind = stack.pop()
            if kind != _OPENER[c]:
                stack.append((pos, kind))
                break
            ends[pos] = q + 1
        for pos, _ in stack:
            ends[pos] = -1
