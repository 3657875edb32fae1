"""Who judges: judge config, the ChatClient protocol, the litellm adapter, the non-LLM
jurors (`judges.jurors`: pattern, embedding), the panel runner, the vote and its recorded
form (`judges.record`), and the candidate model a qualification calls (`judges.candidate`)."""

from judges.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from judges.cache import VoteCache, cache_key
from judges.call import RetryPolicy
from judges.candidate import Candidate, CandidateAnswer, answer
from judges.client import (
    ChatClient,
    ChatRequest,
    ChatResult,
    CostSource,
    TokenLogprob,
    TopLogprob,
)
from judges.config import JudgeConfig
from judges.errors import (
    CallErrorKind,
    JudgeCallError,
    JudgeConfigError,
    JudgeError,
    PermanentCallError,
    RetryableCallError,
)
from judges.record import ItemRecord, VoteRecord
from judges.runner import PanelRunner
from judges.vote import Vote, canonical

__all__ = [
    "BreakerPolicy",
    "BreakerState",
    "CallErrorKind",
    "Candidate",
    "CandidateAnswer",
    "ChatClient",
    "ChatRequest",
    "ChatResult",
    "CircuitBreaker",
    "CostSource",
    "ItemRecord",
    "JudgeCallError",
    "JudgeConfig",
    "JudgeConfigError",
    "JudgeError",
    "PanelRunner",
    "PermanentCallError",
    "RetryPolicy",
    "RetryableCallError",
    "TokenLogprob",
    "TopLogprob",
    "Vote",
    "VoteCache",
    "VoteRecord",
    "answer",
    "cache_key",
    "canonical",
]
