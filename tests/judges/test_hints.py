"""Retry hints read from response headers: every form a provider or a LiteLLM proxy sends."""

import email.utils

import pytest

from judges.hints import duration_s, retry_after_s

NOW = 784_111_777.0  # Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110 5.6.7


def hint(headers: dict[str, str], now: float = NOW) -> float | None:
    return retry_after_s([headers], now)


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Retry-After": "20"}, 20.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"llm_provider-retry-after": "60"}, 60.0),  # a LiteLLM proxy forwarding the provider's
        ({"llm_provider-retry-after-ms": "250"}, 0.25),
        ({"x-litellm-retry-after": "7"}, 7.0),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
    ],
)
def test_each_header_form(headers: dict[str, str], expected: float | None) -> None:
    assert hint(headers) == expected


def test_an_http_date_is_seconds_from_now() -> None:
    # RFC 9110 10.2.3: Retry-After = HTTP-date / delay-seconds
    assert hint({"Retry-After": "Sun, 06 Nov 1994 08:50:37 GMT"}) == pytest.approx(60.0)
    assert hint({"Retry-After": "Sun, 06 Nov 1994 08:48:37 GMT"}) == 0.0  # already past
    assert hint({"Retry-After": email.utils.formatdate(NOW + 90, usegmt=True)}) == 90.0


def test_the_longest_hint_wins() -> None:
    # The proxy's own "retry-after: 0" must not hide the provider's 60 s.
    assert hint({"retry-after": "0", "llm_provider-retry-after": "60"}) == 60.0
    assert hint({"retry-after-ms": "9000", "retry-after": "2"}) == 9.0
    assert retry_after_s([None, {"retry-after": "3"}, {"Retry-After": "5"}], NOW) == 5.0


def test_a_reset_counts_only_for_an_exhausted_limit() -> None:
    exhausted = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"}
    assert hint(exhausted) == 360.0
    assert hint({**exhausted, "x-ratelimit-remaining-requests": "12"}) is None
    tokens = {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20ms"}
    assert hint({**tokens, "x-ratelimit-reset-requests": "1s"}) == 0.02
    proxied = {
        "llm_provider-x-ratelimit-remaining-requests": "0",
        "llm_provider-x-ratelimit-reset-requests": "1.5s",
    }
    assert hint(proxied) == 1.5


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("1h2m3.5s", 3723.5),
        ("20ms", 0.02),
        ("17", 17.0),
        ("2 minutes", None),
        ("", None),
    ],
)
def test_openai_reset_durations(raw: str, expected: float | None) -> None:
    assert duration_s(raw) == expected
