"""Exact-duplicate caching of judge answers.

The same judge (by name, and with the same model, endpoint, parameters and output
options) shown the same rendered prompt (its SHA-256 already covers rubric id, version
and the judged texts) gets the same cached answer instead of a new call. The name is in
the key: two judges of one model on a panel stay two calls, so whether they share an
answer never depends on which of them finished first. Answers are cached raw and parsed
again, so a better parser applies to cached answers too. Only successful calls are
cached. A judge sampling at temperature > 0 would answer differently each time: caching
trades that variation for cost, which is why the service turns it on explicitly.
"""

from __future__ import annotations

import hashlib
import json
from typing import Protocol

from judges.client import ChatResult
from judges.config import JudgeConfig


class VoteCache(Protocol):
    """Where cached answers live (the service provides database and Redis backends)."""

    async def get(self, key: str) -> ChatResult | None: ...

    async def put(self, key: str, result: ChatResult) -> None: ...


def cache_key(judge: JudgeConfig, prompt_sha256: str) -> str:
    """Identifies one judge configuration answering one rendered prompt."""
    spec = {
        "judge": judge.name,
        "model": judge.model,
        "api_base": judge.api_base,
        "params": judge.params,
        "json_mode": judge.json_mode,
        "logprobs": judge.logprobs,
        "prompt": prompt_sha256,
    }
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
