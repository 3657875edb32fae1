"""Checks of the clients' constructor arguments (and of the LiteLLM callback's settings),
so that a wrong base URL or timeout is a `ValueError` naming it when the client is built,
not an httpx `UnsupportedProtocol`, an `OverflowError` or a hang at the first request."""

from __future__ import annotations

import math

import httpx

MAX_TIMEOUT_S = 3600.0
"""The longest request timeout taken: an hour, six times the longest panel deadline."""


def url_problem(url: object) -> str | None:
    """What is wrong with `url` as Quorum's base URL, or None: it must be `http://` or
    `https://`, name a host, and have no spaces, query or fragment. A path is kept as a
    prefix (`https://gateway/quorum` sends `https://gateway/quorum/v1/...`)."""
    if not isinstance(url, str):
        return f"must be a string, not {type(url).__name__}"
    if not url or any(c.isspace() for c in url):
        return "must not contain spaces" if url else "must not be empty"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"is not a URL ({exc})"
    if parsed.scheme not in ("http", "https") or "://" not in url:
        return "must start with http:// or https://"
    if not parsed.host:
        return "names no host"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"has port {parsed.port}, not one from 1 to 65535"
    if parsed.query or parsed.fragment or "?" in url or "#" in url:
        return "must not have a query or fragment"
    return None


def key_problem(key: object) -> str | None:
    """What is wrong with `key` as an API key (it goes into a header), or None."""
    if not isinstance(key, str):
        return f"must be a string, not {type(key).__name__}"
    if not key or len(key) > 1024 or not all("!" <= c <= "~" for c in key):
        return "must be 1 to 1024 printable ASCII characters without spaces or newlines"
    return None


def check_api_key(key: str) -> str:
    if (problem := key_problem(key)) is not None:
        raise ValueError(f"api_key {problem}")  # the key itself is a secret: not shown
    return key


def without_password(url: str) -> str:
    """`url` as it may be shown: a user and password in it replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if not sep or "@" not in netloc:
        return url
    return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{path}"


def check_base_url(url: object) -> str:
    text = str(url) if isinstance(url, httpx.URL) else url
    if (problem := url_problem(text)) is not None:
        shown = without_password(text) if isinstance(text, str) else text
        raise ValueError(f"base_url {shown!r} {problem}")
    assert isinstance(text, str)
    return text


def check_timeout(value: object, *, maximum: float) -> float | httpx.Timeout | None:
    """A client's `timeout`: seconds (see `check_seconds`), or what httpx takes as it is
    (an `httpx.Timeout`, whose parts must be finite, or None: no timeout)."""
    if value is None:
        return None
    if isinstance(value, httpx.Timeout):
        parts = (value.connect, value.read, value.write, value.pool)
        if any(p is not None and not (math.isfinite(p) and p >= 0) for p in parts):
            raise ValueError(f"timeout {value!r}: each part must be a finite number of seconds")
        return value
    return check_seconds("timeout", value, maximum=maximum)


def check_seconds(name: str, value: object, *, maximum: float, zero: bool = False) -> float:
    """`value` as seconds: a finite number above 0 (or 0 itself, with `zero`) and at most
    `maximum`; a ValueError naming `name` otherwise."""
    low = "at least 0" if zero else "above 0"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, not {value!r}")
    seconds = float(value)
    above_low = seconds >= 0 if zero else seconds > 0
    if not (math.isfinite(seconds) and above_low and seconds <= maximum):
        raise ValueError(f"{name} must be {low} and at most {maximum:g} seconds, not {value!r}")
    return seconds


def check_count(name: str, value: object, *, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{name} must be a whole number from 0 to {maximum}, not {value!r}")
    return value
