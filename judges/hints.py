"""Retry hints: how long a provider (or a LiteLLM proxy in front of it) asks us to wait.

Read from a rate-limited (or overloaded) response's headers, in seconds:

- `retry-after-ms: 1500` (OpenAI, Azure): milliseconds;
- `Retry-After: 20` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT` (RFC 9110 10.2.3):
  seconds, or an HTTP date;
- the same names with the prefixes a LiteLLM proxy puts on the headers it forwards from
  the provider (`llm_provider-retry-after: 60`) or on its own (`x-litellm-retry-after`);
- `x-ratelimit-reset-requests: 6m0s` / `x-ratelimit-reset-tokens: 20ms` (OpenAI's
  duration format), but only for a limit whose `x-ratelimit-remaining-*` is 0: a reset
  time alone says when the window ends, not that it is exhausted.

When several hints are present the longest wins: the proxy's own "0" must not override the
provider's "60". An unparsable or negative hint is no hint (negative: 0).
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Iterable, Mapping

_PREFIXES = ("llm_provider-", "x-litellm-")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _bare(name: str) -> str:
    name = name.lower()
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                name, stripped = name[len(prefix) :], True
    return name


def _seconds(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def _http_date(raw: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, when.timestamp() - now)


def duration_s(raw: str) -> float | None:
    """OpenAI's reset durations (`1s`, `6m0s`, `1h2m3.5s`, `20ms`) or plain seconds."""
    raw = raw.strip().lower()
    plain = _seconds(raw)
    if plain is not None:
        return plain
    parts = _DURATION.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def retry_after_s(
    headers: Iterable[Mapping[str, object] | None], now: float | None = None
) -> float | None:
    """The longest retry hint in any of `headers` (several header maps may describe the
    same response), in seconds from `now` (epoch seconds; default: the current time)."""
    now = time.time() if now is None else now
    found: list[float] = []
    remaining: dict[str, str] = {}
    resets: dict[str, str] = {}
    for mapping in headers:
        for key, value in (mapping or {}).items():
            name, raw = _bare(str(key)), str(value).strip()
            hint: float | None = None
            if name == "retry-after-ms":
                ms = _seconds(raw)
                hint = ms / 1000 if ms is not None else None
            elif name == "retry-after":
                hint = _seconds(raw)
                if hint is None:
                    hint = _http_date(raw, now)
            elif name.startswith("x-ratelimit-remaining-"):
                remaining[name.removeprefix("x-ratelimit-remaining-")] = raw
            elif name.startswith("x-ratelimit-reset-"):
                resets[name.removeprefix("x-ratelimit-reset-")] = raw
            if hint is not None:
                found.append(hint)
    for limit, raw in resets.items():
        if remaining.get(limit) == "0":
            hint = duration_s(raw)
            if hint is not None:
                found.append(hint)
    return max(found) if found else None
