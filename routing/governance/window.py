"""Window lengths as the config and the API write them: "30m", "12h", "7d", "2w"."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["Window", "format_window", "parse_window"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST_S = 366 * 86400
_WINDOW = re.compile(r"^\s*([0-9]+)\s*([smhdw])\s*$")  # ASCII digits only: int() reads others


def parse_window(value: object) -> timedelta:
    """ "30m", "12h", "7d", "2w" (or "90s") as a timedelta; a timedelta passes through.

    Raises ValueError on anything else, on zero and on more than 366 days.
    """
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, str):
        match = _WINDOW.match(value)
        if match is None:
            raise ValueError(
                f"window must be a number and a unit s/m/h/d/w, like 30m, 12h or 7d; got {value!r}"
            )
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
        # Bounded before the timedelta: a window of 10^20 days would overflow it.
        delta = timedelta(seconds=min(seconds, _LONGEST_S + 1))
    else:
        raise ValueError(f"window must be a string like 7d; got {value!r}")
    if delta <= timedelta(0):
        raise ValueError("window must be longer than zero")
    if delta > timedelta(days=366):
        raise ValueError("window must be at most 366d")
    return delta


def format_window(delta: timedelta) -> str:
    """The window in its largest exact unit up to days: 7d, 14d, 12h, 30m, 90s."""
    seconds = int(delta.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


Window = Annotated[
    timedelta,
    BeforeValidator(parse_window),
    PlainSerializer(format_window, return_type=str),
]
"""A window length, read from "30m" / "12h" / "7d" and written back the same way."""
