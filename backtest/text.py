"""How the backtest's tables write numbers and names: shared by the printed report
(`backtest.report`) and the Markdown (`backtest.markdown`)."""

from __future__ import annotations

import re

FEW_ITEMS = 10
"""A kappa over fewer items than this is shown with its item count."""
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
"""Control, line-separator and bidirectional-override characters: never written as they
are (a name holding one would break a table's line or reorder what follows it)."""


def fixed(x: float, digits: int = 3) -> str:
    """`x` to `digits` places, never `-0.000`."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


MARKUP = re.compile(r"[\\|<*_`]")
"""Characters a table cell shows escaped."""


def cell(text: str) -> str:
    """`text` safe in a table cell: control characters as spaces, and the characters that
    could split the row (`|`, and `\\` that would unescape it), open HTML or a marker
    (`<`) or start emphasis or code (`*`, `_`, a backtick) backslash-escaped."""
    return MARKUP.sub(r"\\\g<0>", UNPRINTABLE.sub(" ", text))
