"""Judge configuration: one judge model, as named in `quorum.yaml` under `judges:`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
RESERVED_PARAMS = frozenset(
    {"model", "messages", "api_base", "base_url", "api_key", "stream", "timeout", "n"}
)


class JudgeConfig(BaseModel):
    """One judge: a litellm model string and how to call it. Keys never live here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    """Unique name; panels list judges by it; a bounded metrics label."""
    model: str = Field(min_length=1)
    """A litellm model string: `openai/gpt-4o-mini`, `anthropic/claude-...`, `ollama/llama3`."""
    api_base: str | None = None
    """Any OpenAI-compatible endpoint (vLLM, Ollama, a proxy, a test double)."""
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of the environment variable that holds the API key, read at call time."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Extra completion parameters: temperature, max_tokens, seed, top_p..."""
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    """Per-attempt timeout."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries after a retryable failure (429, 5xx, timeout), within the panel deadline."""
    weight: float = Field(default=1.0, gt=0)
    """Prior weight in `weighted` aggregation, before reliability estimates exist."""
    family: str | None = None
    """Vendor/base-model lineage, to warn about correlated jurors and self-judging."""
    json_mode: bool = True
    """Ask for JSON output (`response_format`) where the provider supports it."""
    logprobs: bool = False
    """Ask for token log-probabilities, to keep a distribution over scale values."""

    @field_validator("params")
    @classmethod
    def _no_reserved(cls, params: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(RESERVED_PARAMS & params.keys())
        if clash:
            raise ValueError(f"params may not set {clash}: Quorum sets them itself")
        return params

    @field_validator("api_base")
    @classmethod
    def _http(cls, api_base: str | None) -> str | None:
        if api_base is not None and not api_base.startswith(("http://", "https://")):
            raise ValueError("api_base must be an http:// or https:// URL")
        return api_base
