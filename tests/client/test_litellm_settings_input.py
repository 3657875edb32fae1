"""The callback's settings against bad input: every QUORUM_* variable it reads, not a
number, out of bounds, NaN or infinite, an unknown choice, a URL that cannot work. Each
is refused when the callback is built, with one line naming the variable, and the real
LiteLLM proxy loading the callback stops with that line. An empty variable is unset (as
Compose's `${X:-}` writes it); a misspelt one is a warning naming the one it may mean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from quorum_client.litellm import CallbackSettings, CallbackSettingsError, QuorumCallback
from tests.support import free_port

PANEL = {"QUORUM_CALLBACK_PANEL": "helpfulness"}
BAD = [
    ("QUORUM_URL", "quorum.internal:8000", "must start with http:// or https://"),
    ("QUORUM_URL", "quorum.internal", "must start with http:// or https://"),
    ("QUORUM_URL", "http://quorum:8000/ v1", "must not contain spaces"),
    ("QUORUM_URL", " http://quorum:8000", "must not contain spaces"),
    ("QUORUM_URL", "http://quorum:8000?tenant=a", "query"),
    ("QUORUM_URL", "http://quorum:99999", "port 99999"),
    ("QUORUM_API_KEY", "qk_secretvalue\n", "printable ASCII"),
    ("QUORUM_API_KEY", "qk secretvalue", "printable ASCII"),
    ("QUORUM_CALLBACK_PANEL", "Help fulness", "should match pattern"),
    ("QUORUM_CALLBACK_SAMPLE", "abc", "valid number"),
    ("QUORUM_CALLBACK_SAMPLE", "10%", "valid number"),
    ("QUORUM_CALLBACK_SAMPLE", "-0.1", "greater than or equal to 0"),
    ("QUORUM_CALLBACK_SAMPLE", "1.5", "less than or equal to 1"),
    ("QUORUM_CALLBACK_SAMPLE", "nan", "finite"),
    ("QUORUM_CALLBACK_SAMPLE", "inf", "finite"),
    ("QUORUM_CALLBACK_USE_CASE", "two words", "should match pattern"),
    ("QUORUM_CALLBACK_QUEUE_SIZE", "0", "greater than or equal to 1"),
    ("QUORUM_CALLBACK_QUEUE_SIZE", "-5", "greater than or equal to 1"),
    ("QUORUM_CALLBACK_QUEUE_SIZE", str(10**12), "less than or equal to 1000000"),
    ("QUORUM_CALLBACK_QUEUE_SIZE", "1e3", "valid integer"),
    ("QUORUM_CALLBACK_ON_QUARANTINE", "xyz", "'refuse', 'reroute' or 'allow'"),
    ("QUORUM_CALLBACK_ON_QUARANTINE", "REFUSE", "'refuse', 'reroute' or 'allow'"),
    ("QUORUM_CALLBACK_ZONE_TTL_S", "-1", "greater than or equal to 0"),
    ("QUORUM_CALLBACK_ZONE_TTL_S", "inf", "finite"),
    ("QUORUM_CALLBACK_ZONE_TTL_S", "1e300", "less than or equal to 86400"),
    ("QUORUM_CALLBACK_LOOKUP_TIMEOUT_S", "0", "greater than 0"),
    ("QUORUM_CALLBACK_LOOKUP_TIMEOUT_S", "nan", "finite"),
    ("QUORUM_CALLBACK_LOOKUP_TIMEOUT_S", "1e300", "less than or equal to 300"),
    ("QUORUM_CALLBACK_TIMEOUT_S", "-2", "greater than 0"),
    ("QUORUM_CALLBACK_TIMEOUT_S", "inf", "finite"),
    ("QUORUM_CALLBACK_TIMEOUT_S", "1e300", "less than or equal to 3600"),
    ("QUORUM_CALLBACK_APP", "a" * 129, "at most 128 characters"),
]


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The process environment without any QUORUM_URL, QUORUM_API_KEY or QUORUM_CALLBACK_*."""
    for name in list(os.environ):
        if name in ("QUORUM_URL", "QUORUM_API_KEY") or name.startswith("QUORUM_CALLBACK_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(("variable", "value", "why"), BAD)
def test_a_bad_variable_is_refused_in_one_line_naming_it(
    environ: pytest.MonkeyPatch, variable: str, value: str, why: str
) -> None:
    for name, given in {**PANEL, variable: value}.items():
        environ.setenv(name, given)
    with pytest.raises(CallbackSettingsError) as caught:
        QuorumCallback.from_env()  # what the proxy does when it loads the callback
    message = str(caught.value)
    assert message.startswith(f"quorum callback: {variable}"), message
    assert why in message and "\n" not in message, message
    assert "secretvalue" not in message  # a key is never shown


def test_values_at_their_bounds_are_taken(environ: pytest.MonkeyPatch) -> None:
    for name, value in {
        "QUORUM_URL": "https://gateway.internal/quorum/",  # a path prefix is kept
        "QUORUM_API_KEY": "qk_0123456789abcdef",
        "QUORUM_CALLBACK_PROFILE": "security",
        "QUORUM_CALLBACK_SAMPLE": "0",
        "QUORUM_CALLBACK_QUEUE_SIZE": "1000000",
        "QUORUM_CALLBACK_ON_QUARANTINE": "reroute",
        "QUORUM_CALLBACK_ZONE_TTL_S": "86400",
        "QUORUM_CALLBACK_LOOKUP_TIMEOUT_S": "300",
        "QUORUM_CALLBACK_TIMEOUT_S": "3600",
    }.items():
        environ.setenv(name, value)
    s = CallbackSettings.from_env()
    assert (s.url, s.sample, s.queue_size, s.zone_ttl_s) == (
        "https://gateway.internal/quorum/",
        0.0,
        1_000_000,
        86400.0,
    )
    assert (s.lookup_timeout_s, s.timeout_s) == (300.0, 3600.0)
    # An empty key given as an argument is no key, as the REST client takes it.
    assert CallbackSettings(panel="helpfulness", api_key="").api_key is None


def test_several_problems_in_one_line_and_misspelt_variables_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {
        **PANEL,
        "QUORUM_CALLBACK_SAPMLE": "0.1",
        "QUORUM_CALLBACK_SEED": "7",
        "QUORUM_CALLBACK_APP": "",  # unset, as `QUORUM_CALLBACK_APP: ${APP:-}` writes it
        "QUORUM_URL": "",
        "QUORUM_API_KEY": " ",
    }
    with caplog.at_level("WARNING", logger="quorum_client.litellm"):
        s = CallbackSettings.from_env(env)
    assert (s.app, s.url, s.api_key) == (None, "http://127.0.0.1:8000", None)
    assert caplog.messages == [
        "quorum callback: QUORUM_CALLBACK_SAPMLE is not a setting (did you mean "
        "QUORUM_CALLBACK_SAMPLE?)",
        "quorum callback: QUORUM_CALLBACK_SEED is not a setting (the settings: "
        "QUORUM_CALLBACK_PANEL, QUORUM_CALLBACK_PROFILE, QUORUM_CALLBACK_SAMPLE, "
        "QUORUM_CALLBACK_USE_CASE, QUORUM_CALLBACK_QUEUE_SIZE, QUORUM_CALLBACK_ON_QUARANTINE, "
        "QUORUM_CALLBACK_ZONE_TTL_S, QUORUM_CALLBACK_LOOKUP_TIMEOUT_S, QUORUM_CALLBACK_TIMEOUT_S, "
        "QUORUM_CALLBACK_APP)",
    ]
    two = {"QUORUM_CALLBACK_SAMPLE": "2", "QUORUM_URL": "quorum"}
    both = r"QUORUM_URL='quorum': .*; QUORUM_CALLBACK_SAMPLE='2'"
    with pytest.raises(CallbackSettingsError, match=both):
        CallbackSettings.from_env({**PANEL, **two})
    with pytest.raises(CallbackSettingsError, match="exactly one of 'panel' and 'profile'"):
        CallbackSettings.from_env({})
    # An argument wins over its variable, and is named as the argument.
    assert CallbackSettings.from_env({**PANEL, "QUORUM_CALLBACK_SAMPLE": "x"}, sample=0.5).sample
    with pytest.raises(CallbackSettingsError, match=r"^quorum callback: timeout_s: .* 3600$"):
        CallbackSettings.from_env(PANEL, timeout_s=1e300)


def test_settings_and_arguments_are_not_mixed() -> None:
    settings = CallbackSettings(panel="helpfulness")
    with pytest.raises(TypeError, match="not both"):
        QuorumCallback(settings, sample=0.5)  # the sample would have been ignored


def test_the_proxy_does_not_start_with_a_bad_variable(tmp_path: Path) -> None:
    config = {
        "model_list": [
            {
                "model_name": "support-a",
                "litellm_params": {"model": "openai/echo", "api_base": "http://127.0.0.1:9"},
            }
        ],
        "litellm_settings": {"callbacks": ["quorum_client.litellm.callback"]},
    }
    (tmp_path / "proxy.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUORUM_")}
    env |= {**PANEL, "QUORUM_CALLBACK_ON_QUARANTINE": "xyz", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    cmd = [sys.executable, "-m", "litellm.proxy.proxy_cli", "--host", "127.0.0.1"]
    cmd += ["--port", str(free_port()), "--config", str(tmp_path / "proxy.yaml")]
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    line = (
        "CallbackSettingsError: quorum callback: QUORUM_CALLBACK_ON_QUARANTINE='xyz': "
        "Input should be 'refuse', 'reroute' or 'allow'"
    )
    assert line in output, output[-3000:]
    assert "validation error for CallbackSettings" not in output  # pydantic's many lines
