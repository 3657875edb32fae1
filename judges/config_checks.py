"""Checks of a judge's configuration that its pydantic model does not make: what no
provider call could use (a blank model, an `api_base` with no host, `params` that are not
JSON or out of range, a weight that overflows a weighted sum)."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from judges.config import JudgeConfig
from rubrics.loader import describe

PARAM_RANGES: dict[str, tuple[float, float, bool]] = {
    "temperature": (0, 2, False),
    "top_p": (0, 1, False),
    "presence_penalty": (-2, 2, False),
    "frequency_penalty": (-2, 2, False),
    "max_tokens": (1, 1_000_000, True),
    "max_completion_tokens": (1, 1_000_000, True),
    "seed": (-(2**63), 2**63 - 1, True),
}
"""The OpenAI-compatible completion parameters a judge's `params` most often set:
(least, most, whether an integer). Others pass as given, if they are JSON."""
MAX_JUDGE_WEIGHT = 1000.0
"""Weights are relative; this bound keeps a weighted sum finite (criteria share it)."""


def judge_problem(judge: JudgeConfig) -> tuple[str, str] | None:
    """What `JudgeConfig` lets through but no provider call can use, as (key within the
    judge, problem), or None: a blank model or one with spaces, an `api_base` without a
    host, params that are not JSON or out of range, a weight that overflows a weighted
    sum. The config loader names the file and the judge."""
    if judge.weight > MAX_JUDGE_WEIGHT:
        return "weight", f"{judge.weight:g} is over {MAX_JUDGE_WEIGHT:g}: weights are relative"
    if judge.type != "llm":
        return None
    if not judge.model.strip():
        return "model", "blank: a litellm model string is required"
    if any(c.isspace() or not c.isprintable() for c in judge.model):
        return (
            "model",
            f"{judge.model!r:.80}: a litellm model string has no spaces or control characters",
        )
    if judge.api_base is not None:
        problem = _url_problem(judge.api_base)
        if problem:
            return "api_base", f"{judge.api_base!r:.80}: {problem}"
    for name, value in judge.params.items():
        key = f"params.{name}"
        problem = _json_problem(value)
        if problem:
            return key, problem
        if name in PARAM_RANGES:
            low, high, integer = PARAM_RANGES[name]
            kind = "an integer" if integer else "a number"
            if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
                hint = "; YAML reads 1e5 as text: write 1.0e+5" if _numeric(value) else ""
                return key, f"expected {kind}, got {describe(value)}{hint}"
            if not low <= value <= high:
                return key, f"{value!r:.40} is not {kind} from {low} to {high}"
    return None


def _numeric(value: object) -> bool:
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


def _url_problem(url: str) -> str:
    if any(c.isspace() or not c.isprintable() for c in url):
        return "a URL has no spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port out of range)
    except ValueError as exc:
        return f"not a URL: {exc}"
    return "" if parts.hostname else "no host"


def _json_problem(value: object) -> str:
    """Why `value` (from `params`) cannot be sent as JSON, or ""."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    if isinstance(value, list):
        return next((p for v in value if (p := _json_problem(v))), "")
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return "a key is not text"
        return next((p for v in value.values() if (p := _json_problem(v))), "")
    if value is None or isinstance(value, str | int | float):
        return ""
    return f"{describe(value)} is not a JSON value (quote it)"
