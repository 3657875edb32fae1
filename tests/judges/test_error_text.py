"""Error text stored on votes: readable, bounded, free of secrets and of raw HTML."""

import pytest

from judges import (
    CallErrorKind,
    ChatRequest,
    JudgeCallError,
    PermanentCallError,
    RetryableCallError,
)
from judges.error_text import LIMIT, readable
from judges.litellm_client import LiteLLMClient, configure_litellm
from tests.doubles.judge_server import JudgeDouble
from tests.support import free_port
from tests.support.chat import request

SECRETS = ("sk-proj-Abc123", "sk-live-0123456789", "hunter2")


@pytest.fixture(scope="module", autouse=True)
def _configured() -> None:
    configure_litellm()


def test_an_object_repr_is_dropped() -> None:
    # What an unreachable Ollama reports through litellm (issue 17, point 2).
    raw = (
        "litellm.APIConnectionError: OllamaException - Cannot connect to host "
        "localhost:11434 ssl:<ssl.SSLContext object at 0x7f3a2b1c0d90> "
        "[Connect call failed ('127.0.0.1', 11434)]"
    )
    assert readable(raw) == (
        "Cannot connect to host localhost:11434 [Connect call failed ('127.0.0.1', 11434)]"
    )
    assert readable("failed on <Foo.Bar object at 0xDEADbeef>.") == "failed on."


def test_litellms_class_prefixes_are_dropped() -> None:
    raw = "litellm.RateLimitError: RateLimitError: OpenAIException - Slow down."
    assert readable(raw) == "Slow down."


def test_the_providers_own_message_keeps_its_first_word() -> None:
    """litellm's prefix goes once: a provider message that itself starts like one (a
    Python server's `ValueError: ...`) is the provider's text, and stays whole."""
    raw = "litellm.BadRequestError: OpenAIException - ValueError: max_tokens must be positive"
    assert readable(raw) == "ValueError: max_tokens must be positive"
    body = '{"error": {"message": "KeyError: \'messages\'"}}'
    assert readable(f"litellm.APIError: APIError: OpenAIException - {body}") == (
        "KeyError: 'messages'"
    )


@pytest.mark.parametrize(
    "raw, kept, gone",
    [
        ("Incorrect API key provided: sk-proj-Abc123DEF456ghi789.", "Incorrect API key", "Abc123"),
        ("key sk-ant-api03-abcdefghijklmnop rejected", "rejected", "api03"),
        ("header Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.sig was refused", "Bearer", "eyJ"),
        ("Basic dXNlcjpwYXNz is wrong", "Basic [redacted]", "dXNlcjpwYXNz"),
        ("url https://alice:hunter2@proxy.example/v1 failed", "alice:[redacted]@", "hunter2"),
        ('{"api_key": "abc123secret", "model": "m"}', '"model": "m"', "abc123secret"),
        ("password=letmein&user=bob", "user=bob", "letmein"),
        ("AWS AKIAABCDEFGHIJKLMNOP denied", "denied", "AKIAABCDEFGHIJKLMNOP"),
        ("google AIzaSyA1234567890abcdefghijklmnop denied", "denied", "AIzaSy"),
    ],
)
def test_secrets_are_redacted(raw: str, kept: str, gone: str) -> None:
    text = readable(raw)
    assert kept in text and gone not in text and "[redacted]" in text


def test_words_and_request_ids_are_not_taken_for_secrets() -> None:
    raw = "Basic authentication failed for request req_8f2b1c9d0e7a4b3c2d1e0f9a8b7c6d5e"
    assert readable(raw) == raw


def test_an_html_page_becomes_its_title() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"
    assert readable(page) == "HTML error page: 502 Bad Gateway"
    untitled = "<!DOCTYPE html>\n<html><body><p>Service &amp; gateway\n down</p></body></html>"
    assert readable(untitled) == "HTML error page: Service & gateway down"


def test_text_is_one_bounded_line_without_control_characters() -> None:
    assert readable("first\x1b[2J line\r\nsecond line") == "first [2J line"
    long = readable("word " * 500)
    assert len(long) == LIMIT and long.endswith("…")
    assert readable("   ") == ""


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            '{"error": {"message": "Model is overloaded.", "type": "server_error"}}',
            "Model is overloaded.",
        ),
        (
            "litellm.RateLimitError: RateLimitError: OpenAIException - "
            '{"error": {"message": "Slow down"}}',
            "Slow down",
        ),
        ('{"detail": "Not Found"}', "Not Found"),
        ('{"error": "upstream timed out"}', "upstream timed out"),
        ('{"message": "bad key sk-proj-Abc123DEF456ghi789"}', "bad key [redacted]"),
        ('{"error": {"code": 500}}', '{"error": {"code": 500}}'),  # no message: as it came
        ("{not json", "{not json"),
    ],
)
def test_a_json_error_body_becomes_its_message(raw: str, expected: str) -> None:
    assert readable(raw) == expected


def test_a_call_error_keeps_kind_and_status() -> None:
    err = RetryableCallError(CallErrorKind.SERVER_ERROR, "<html><title>oops</title>", status=502)
    assert err.detail == "HTTP 502: HTML error page: oops"
    assert err.status == 502 and err.kind is CallErrorKind.SERVER_ERROR
    assert len(JudgeCallError(CallErrorKind.OTHER, "x" * 999, status=500).detail) == LIMIT
    assert JudgeCallError(CallErrorKind.OTHER, "").detail == "other"


# --- through litellm, from the double -------------------------------------------------------


async def test_a_leaky_provider_body_is_cut_and_redacted(double: JudgeDouble) -> None:
    for status, cls in ((401, PermanentCallError), (500, RetryableCallError)):
        with pytest.raises(cls) as info:
            await LiteLLMClient().complete(request(double, f"leaky-{status}"))
        detail = info.value.detail
        assert detail.startswith(f"HTTP {status}: Incorrect API key provided: [redacted]")
        assert len(detail) <= LIMIT
        assert info.value.status == status
        for secret in SECRETS:
            assert secret not in detail


async def test_an_html_error_page_is_not_stored_as_html(double: JudgeDouble) -> None:
    with pytest.raises(RetryableCallError) as info:
        await LiteLLMClient().complete(request(double, "html-502"))
    assert info.value.kind is CallErrorKind.SERVER_ERROR
    assert info.value.status == 502
    assert info.value.detail.startswith("HTTP 502: ")
    assert "<" not in info.value.detail and "nginx" not in info.value.detail


async def test_an_unreachable_ollama_reads_without_object_reprs() -> None:
    port = free_port()
    closed = ChatRequest(
        model="ollama/llama3",
        messages=({"role": "user", "content": "hi"},),
        api_base=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(RetryableCallError) as info:
        await LiteLLMClient().complete(closed)
    assert "object at 0x" in str(info.value.__cause__)  # what litellm itself says
    assert info.value.kind is CallErrorKind.CONNECTION
    assert info.value.detail == (
        f"Cannot connect to host 127.0.0.1:{port} [Connect call failed ('127.0.0.1', {port})]"
    )
