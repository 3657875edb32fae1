"""The litellm adapter: exception mapping, and real litellm calls to the loopback double."""

import math
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import litellm
import pytest

from judges import (
    CallErrorKind,
    ChatRequest,
    JudgeCallError,
    PermanentCallError,
    RetryableCallError,
    litellm_client,
)
from judges.litellm_client import (
    OPENAI_HTTP_HANDLER_ENV,
    LiteLLMClient,
    configure_litellm,
    map_exception,
)
from tests.doubles.judge_server import JudgeDouble
from tests.support import free_port
from tests.support.chat import MESSAGES, request

HTTP_REQUEST = httpx.Request("POST", "http://judge.test/v1/chat/completions")


def http_response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=HTTP_REQUEST)


def raised(exc: Exception, cause: BaseException | None = None) -> Exception:
    """`exc` as it looks once raised (optionally `from cause`), with its traceback."""
    try:
        raise exc from cause
    except Exception as caught:
        return caught


@pytest.fixture(scope="module", autouse=True)
def _configured() -> None:
    configure_litellm()


@pytest.fixture(autouse=True, params=["true", "false"], ids=["litellm-http", "openai-sdk"])
def openai_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on both of litellm's paths for `openai/` calls: its own HTTP
    handler (what `configure_litellm` chooses) and the openai SDK (litellm's default)."""
    monkeypatch.setenv(OPENAI_HTTP_HANDLER_ENV, request.param)
    return str(request.param)


def test_configure_litellm_chooses_litellms_http_handler_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(litellm_client, "_configured", False)
    monkeypatch.delenv(OPENAI_HTTP_HANDLER_ENV)
    configure_litellm()
    assert os.environ[OPENAI_HTTP_HANDLER_ENV] == "true"
    monkeypatch.setattr(litellm_client, "_configured", False)
    monkeypatch.setenv(OPENAI_HTTP_HANDLER_ENV, "false")  # a deployment's own choice stays
    configure_litellm()
    assert os.environ[OPENAI_HTTP_HANDLER_ENV] == "false"


async def test_the_chosen_path_is_the_one_taken(
    fresh: JudgeDouble, openai_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The openai SDK's request builder runs only on the SDK path.
    import openai._base_client

    built: list[object] = []
    original = openai._base_client.BaseClient._build_request

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(openai._base_client.BaseClient, "_build_request", counting)
    assert (await LiteLLMClient().complete(request(fresh, "honest"))).text
    assert len(built) == (0 if openai_path == "true" else 1)


@pytest.fixture
def fresh(double: JudgeDouble) -> Iterator[JudgeDouble]:
    double.reset()
    yield double


def sent(double: JudgeDouble, behaviour: str) -> list[dict[str, Any]]:
    """The request bodies the double received for one behaviour (litellm strips `openai/`)."""
    return [r for r in double.requests if r.get("model") == behaviour]


# --- map_exception on litellm's own exception classes ---------------------------------------


@pytest.mark.parametrize(
    "exc, kind, retryable",
    [
        (litellm.Timeout("timed out", "m", "openai"), CallErrorKind.TIMEOUT, True),
        (TimeoutError(), CallErrorKind.TIMEOUT, True),
        (litellm.RateLimitError("slow down", "openai", "m"), CallErrorKind.RATE_LIMITED, True),
        (litellm.AuthenticationError("bad key", "openai", "m"), CallErrorKind.AUTH, False),
        (
            litellm.PermissionDeniedError("no", "openai", "m", response=http_response(403)),
            CallErrorKind.AUTH,
            False,
        ),
        (litellm.NotFoundError("no such model", "m", "openai"), CallErrorKind.NOT_FOUND, False),
        (litellm.BadRequestError("bad", "m", "openai"), CallErrorKind.BAD_REQUEST, False),
        (
            litellm.ContextWindowExceededError("too long", "m", "openai"),
            CallErrorKind.BAD_REQUEST,
            False,
        ),
        (
            litellm.UnprocessableEntityError("bad", "m", "openai", response=http_response(422)),
            CallErrorKind.BAD_REQUEST,
            False,
        ),
        (litellm.APIConnectionError("refused", "openai", "m"), CallErrorKind.CONNECTION, True),
        (litellm.InternalServerError("boom", "openai", "m"), CallErrorKind.SERVER_ERROR, True),
        (litellm.ServiceUnavailableError("down", "openai", "m"), CallErrorKind.SERVER_ERROR, True),
        (litellm.APIError(502, "bad gateway", "openai", "m"), CallErrorKind.SERVER_ERROR, True),
        (litellm.APIError(429, "slow down", "openai", "m"), CallErrorKind.RATE_LIMITED, True),
        (litellm.APIError(403, "forbidden", "openai", "m"), CallErrorKind.AUTH, False),
        (litellm.APIError(404, "gone", "openai", "m"), CallErrorKind.NOT_FOUND, False),
        (litellm.APIError(418, "teapot", "openai", "m"), CallErrorKind.BAD_REQUEST, False),
        (ValueError("something odd"), CallErrorKind.OTHER, True),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_map_exception_kinds(exc: Exception, kind: CallErrorKind, retryable: bool) -> None:
    mapped = map_exception(raised(exc))
    assert mapped.kind is kind
    assert mapped.retryable is retryable
    assert isinstance(mapped, RetryableCallError if retryable else PermanentCallError)


@pytest.mark.parametrize(
    "status, kind",
    [(401, CallErrorKind.AUTH), (403, CallErrorKind.AUTH), (404, CallErrorKind.NOT_FOUND)],
)
def test_status_wins_over_litellms_bad_request_class(status: int, kind: CallErrorKind) -> None:
    # litellm raises BadRequestError for any "invalid_request_error" body, whatever the status.
    exc = litellm.BadRequestError("x", "m", "openai", response=http_response(status))
    assert exc.status_code == status
    assert map_exception(exc).kind is kind


def test_a_connection_failure_reported_as_a_500_is_a_connection_error() -> None:
    # litellm wraps a refused connection in InternalServerError("Connection error.").
    exc = raised(
        litellm.InternalServerError("Connection error.", "openai", "m"),
        cause=raised(ConnectionRefusedError(111, "Connection refused")),
    )
    assert map_exception(exc).kind is CallErrorKind.CONNECTION


@pytest.mark.parametrize(
    "exc, expected",
    [
        (
            litellm.RateLimitError(
                "slow", "openai", "m", response=http_response(429, {"Retry-After": "7"})
            ),
            7.0,
        ),
        (litellm.RateLimitError("slow", "openai", "m", headers={"Retry-After": "2.5"}), 2.5),
        (litellm.RateLimitError("slow", "openai", "m", headers={"retry-after": "-3"}), 0.0),
        (litellm.RateLimitError("slow", "openai", "m", headers={"retry-after": "soon"}), None),
        (litellm.RateLimitError("slow", "openai", "m"), None),
    ],
)
def test_rate_limits_carry_retry_after(exc: Exception, expected: float | None) -> None:
    assert map_exception(exc).retry_after_s == expected


def test_detail_is_the_first_line_of_the_message_and_bounded() -> None:
    assert map_exception(ValueError("first line\nsecond line")).detail == "first line"
    assert len(map_exception(ValueError("x" * 1000)).detail) == 300
    assert map_exception(ValueError()).detail == "ValueError"


# --- real calls through litellm to the double -----------------------------------------------


async def test_a_successful_call_returns_text_and_usage(fresh: JudgeDouble) -> None:
    result = await LiteLLMClient().complete(request(fresh, "honest"))
    assert result.text == '{"score": 4, "rationale": "Judged on the quality marker."}'
    # The double counts a token per four characters: the figures come from its usage block.
    assert result.prompt_tokens == sum(len(m["content"]) for m in MESSAGES) // 4 + 1
    assert result.completion_tokens == len(result.text) // 4 + 1
    assert result.cost_usd is None  # unknown price: unknown cost, not zero
    assert result.logprobs is None
    [body] = sent(fresh, "honest")
    assert body["messages"] == [dict(m) for m in MESSAGES]


async def test_calls_share_one_pooled_session_until_closed(fresh: JudgeDouble) -> None:
    """One long-lived session per client: sequential calls reuse its pooled connection;
    `aclose` closes it, and a later call opens a new one."""
    client = LiteLLMClient()
    for _ in range(4):
        assert (await client.complete(request(fresh, "honest"))).text
    assert fresh.stats()["connections"] == 1
    await client.aclose()
    assert (await client.complete(request(fresh, "honest"))).text
    assert fresh.stats()["connections"] == 2
    await client.aclose()
    await client.aclose()  # closing twice is harmless


async def test_json_mode_and_params_reach_the_provider(fresh: JudgeDouble) -> None:
    client = LiteLLMClient()
    await client.complete(request(fresh, "fixed-2", params={"temperature": 0, "max_tokens": 64}))
    await client.complete(request(fresh, "fixed-3", json_mode=False))
    [with_json] = sent(fresh, "fixed-2")
    assert with_json["response_format"] == {"type": "json_object"}
    assert with_json["temperature"] == 0
    assert with_json["max_tokens"] == 64
    assert "logprobs" not in with_json
    [without] = sent(fresh, "fixed-3")
    assert "response_format" not in without


async def test_logprobs_are_requested_and_returned(fresh: JudgeDouble) -> None:
    result = await LiteLLMClient(top_logprobs=3).complete(
        request(fresh, "logprobs-honest", logprobs=True)
    )
    [body] = sent(fresh, "logprobs-honest")
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 3
    assert result.logprobs is not None
    assert "".join(t.token for t in result.logprobs) == result.text
    [score] = [t for t in result.logprobs if t.token == "4"]
    assert score.logprob == pytest.approx(math.log(0.7))
    assert [t.token for t in score.top] == ["4", "3", "5"]


@pytest.mark.parametrize(
    "status, kind, retryable",
    [
        (400, CallErrorKind.BAD_REQUEST, False),
        (401, CallErrorKind.AUTH, False),
        (403, CallErrorKind.AUTH, False),
        (404, CallErrorKind.NOT_FOUND, False),
        (429, CallErrorKind.RATE_LIMITED, True),
        (500, CallErrorKind.SERVER_ERROR, True),
        (503, CallErrorKind.SERVER_ERROR, True),
    ],
)
async def test_http_errors_map_to_call_errors(
    fresh: JudgeDouble, status: int, kind: CallErrorKind, retryable: bool
) -> None:
    with pytest.raises(JudgeCallError) as info:
        await LiteLLMClient().complete(request(fresh, f"status-{status}"))
    assert info.value.kind is kind
    assert info.value.retryable is retryable
    # Retries are the panel runner's job: neither litellm nor the SDK may retry on its own.
    assert len(sent(fresh, f"status-{status}")) == 1


async def test_a_429_passes_on_the_providers_retry_after(fresh: JudgeDouble) -> None:
    with pytest.raises(RetryableCallError) as info:
        await LiteLLMClient().complete(request(fresh, "status-429"))
    assert info.value.retry_after_s == 0.0  # the double sends `Retry-After: 0`


async def test_a_422_is_a_call_error_not_a_crash(fresh: JudgeDouble) -> None:
    # With drop_params on, litellm retries a 422 once and then returns None.
    with pytest.raises(JudgeCallError):
        await LiteLLMClient().complete(request(fresh, "status-422"))


async def test_an_unknown_model_is_not_found(fresh: JudgeDouble) -> None:
    with pytest.raises(PermanentCallError) as info:
        await LiteLLMClient().complete(request(fresh, "no-such-model"))
    assert info.value.kind is CallErrorKind.NOT_FOUND


async def test_a_closed_port_is_a_connection_error() -> None:
    port = free_port()
    closed = ChatRequest(
        model="openai/honest", messages=MESSAGES, api_base=f"http://127.0.0.1:{port}/v1"
    )
    with pytest.raises(RetryableCallError) as info:
        await LiteLLMClient().complete(closed)
    assert info.value.kind is CallErrorKind.CONNECTION


async def test_a_slow_judge_times_out(fresh: JudgeDouble) -> None:
    started = time.monotonic()
    with pytest.raises(RetryableCallError) as info:
        await LiteLLMClient().complete(request(fresh, "sleep-3000-honest", timeout_s=0.3))
    assert info.value.kind is CallErrorKind.TIMEOUT
    assert time.monotonic() - started < 2.0


async def test_an_unset_key_variable_fails_before_any_request(
    fresh: JudgeDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUORUM_TEST_JUDGE_KEY", raising=False)
    with pytest.raises(PermanentCallError) as info:
        await LiteLLMClient().complete(
            request(fresh, "honest", api_key_env="QUORUM_TEST_JUDGE_KEY")
        )
    assert info.value.kind is CallErrorKind.AUTH
    assert "QUORUM_TEST_JUDGE_KEY" in info.value.detail
    assert fresh.requests == []


async def test_a_set_key_variable_is_used(
    fresh: JudgeDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUORUM_TEST_JUDGE_KEY", "sk-test")
    result = await LiteLLMClient().complete(
        request(fresh, "fixed-5", api_key_env="QUORUM_TEST_JUDGE_KEY")
    )
    assert '"score": 5' in result.text


# --- retry hints and reported costs, as a LiteLLM proxy sends them ---------------------------


@pytest.mark.parametrize(
    "behaviour, expected",
    [
        ("hint-proxy-60-status-429", 60.0),  # `llm_provider-retry-after: 60`, no Retry-After
        ("hint-ms-1500-status-429", 1.5),
        ("hint-s-12-status-429", 12.0),
        ("hint-date-90-status-429", 90.0),
        ("hint-reset-30-status-429", 30.0),
        ("hint-s-7-status-503", 7.0),  # an overloaded server may ask for a pause too
        ("hint-none-0-status-429", None),
    ],
)
async def test_every_retry_hint_reaches_the_error(
    fresh: JudgeDouble, behaviour: str, expected: float | None
) -> None:
    with pytest.raises(RetryableCallError) as info:
        await LiteLLMClient().complete(request(fresh, behaviour))
    if expected is None:
        assert info.value.retry_after_s is None
    else:  # an HTTP date has a resolution of one second
        assert info.value.retry_after_s == pytest.approx(expected, abs=1.01)


@pytest.fixture(scope="module")
def proxy() -> Iterator[JudgeDouble]:
    """A proxy whose alias `gpt-4o-mini` is some other deployment, billed at $0.0042."""
    with JudgeDouble(
        aliases={"gpt-4o-mini": "cost-0.0042-honest", "gpt-4o": "honest", "my-gpt": "honest"},
        served={"my-gpt": "gpt-4o"},
    ) as d:
        yield d


async def test_a_reported_cost_wins_over_the_price_list(proxy: JudgeDouble) -> None:
    client = LiteLLMClient()
    reported = await client.complete(request(proxy, "gpt-4o-mini"))
    assert reported.cost_usd == 0.0042
    assert reported.cost_source == "provider"
    # Without the header the same name is priced from litellm's local price list.
    listed = await client.complete(request(proxy, "gpt-4o"))
    assert listed.cost_source == "price_list"
    price = litellm.model_cost["gpt-4o"]
    assert listed.cost_usd == pytest.approx(
        (listed.prompt_tokens or 0) * price["input_cost_per_token"]
        + (listed.completion_tokens or 0) * price["output_cost_per_token"]
    )


async def test_a_reported_cost_on_an_unpriced_model(fresh: JudgeDouble) -> None:
    result = await LiteLLMClient().complete(request(fresh, "cost-0.25-honest"))
    assert result.cost_usd == 0.25 and result.cost_source == "provider"
    plain = await LiteLLMClient().complete(request(fresh, "honest"))
    assert plain.cost_usd is None and plain.cost_source is None


async def test_an_unpriced_model_stays_unknown_call_after_call(fresh: JudgeDouble) -> None:
    # litellm has no price for `openai/sleep-0-honest`: the client enters it in litellm's
    # price map at zero once (so that litellm's lookup hits), and still reports no cost.
    client = LiteLLMClient()
    results = [await client.complete(request(fresh, "sleep-0-honest")) for _ in range(3)]
    assert [(r.cost_usd, r.cost_source) for r in results] == [(None, None)] * 3
    assert litellm.model_cost["openai/sleep-0-honest"]["input_cost_per_token"] == 0.0


async def test_prices_given_as_params_still_price_an_unpriced_model(fresh: JudgeDouble) -> None:
    client = LiteLLMClient()
    assert (await client.complete(request(fresh, "honest"))).cost_usd is None
    prices = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
    priced = await client.complete(request(fresh, "honest", params=prices))
    assert priced.cost_source == "price_list"
    assert priced.cost_usd == pytest.approx(
        (priced.prompt_tokens or 0) * 1e-6 + (priced.completion_tokens or 0) * 2e-6
    )


async def test_a_priced_model_keeps_its_price(proxy: JudgeDouble) -> None:
    price = dict(litellm.model_cost["gpt-4o"])
    client = LiteLLMClient()
    listed = [await client.complete(request(proxy, "gpt-4o")) for _ in range(2)]
    assert litellm.model_cost["gpt-4o"] == price and "openai/gpt-4o" not in litellm.model_cost
    assert all(r.cost_source == "price_list" and (r.cost_usd or 0) > 0 for r in listed)


async def test_a_deployment_name_is_priced_by_the_model_that_served_it(proxy: JudgeDouble) -> None:
    # `my-gpt` has no price of its own (an Azure deployment, a proxy alias), but its
    # answers say gpt-4o served them: litellm prices them as gpt-4o, call after call.
    client = LiteLLMClient()
    price = litellm.model_cost["gpt-4o"]
    for _ in range(2):
        listed = await client.complete(request(proxy, "my-gpt"))
        assert listed.cost_source == "price_list"
        assert listed.cost_usd == pytest.approx(
            (listed.prompt_tokens or 0) * price["input_cost_per_token"]
            + (listed.completion_tokens or 0) * price["output_cost_per_token"]
        )


def test_this_litellm_has_the_flag_that_skips_its_unread_logging() -> None:
    """Without it every call pays for litellm's logging task again (about 15% of its CPU
    per call, docs/benchmarks.md): a litellm upgrade that drops it must be noticed."""
    from contextvars import ContextVar

    assert isinstance(litellm_client._unlogged, ContextVar)
    assert litellm_client._unobserved()  # Quorum registers no callback of its own


CALLBACK_LISTS = (
    "callbacks",
    "success_callback",
    "_async_success_callback",
    "failure_callback",
    "_async_failure_callback",
)


async def test_no_callback_no_logging_task_and_a_callback_still_hears_every_call(
    fresh: JudgeDouble, proxy: JudgeDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from litellm.integrations.custom_logger import CustomLogger
    from litellm.litellm_core_utils.litellm_logging import Logging

    await asyncio.sleep(0.3)  # the logging tasks of calls before this test have run
    handled: list[str] = []
    original = Logging.async_success_handler

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        handled.append("success")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(Logging, "async_success_handler", counting)
    client = LiteLLMClient()
    priced = await client.complete(request(proxy, "gpt-4o"))
    await asyncio.sleep(0.2)  # litellm's logging runs as a task after the call returns
    assert handled == []
    assert priced.cost_source == "price_list" and (priced.cost_usd or 0) > 0  # still priced

    class Heard(CustomLogger):
        def __init__(self) -> None:
            super().__init__()
            self.events: list[str] = []

        async def async_log_success_event(self, *args: Any, **kwargs: Any) -> None:
            self.events.append("success")

        async def async_log_failure_event(self, *args: Any, **kwargs: Any) -> None:
            self.events.append("failure")

    heard = Heard()
    # An operator's own, set later. litellm copies `callbacks` into its other lists on
    # the next call: each gets a list of this test's, so the rest of the suite is unheard.
    for name in CALLBACK_LISTS:
        monkeypatch.setattr(litellm, name, [])
    litellm.callbacks.append(heard)
    assert not litellm_client._unobserved()
    assert (await client.complete(request(proxy, "gpt-4o"))).cost_source == "price_list"
    with pytest.raises(JudgeCallError):
        await client.complete(request(fresh, "status-400"))
    for _ in range(50):
        if len(heard.events) >= 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(heard.events) == ["failure", "success"] and handled == ["success"]
    await client.aclose()
