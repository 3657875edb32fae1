"""quorum-client: a typed Python client for the Quorum REST API (v1).

Install it alone (`pip install ./client` from the Quorum repository): it needs httpx and
pydantic only, never the service. `QuorumClient` blocks, `AsyncQuorumClient` awaits; both
send the same `Endpoints` calls with the same retry policy and return the models below.
"""

from quorum_client._client import AsyncQuorumClient, QuorumClient
from quorum_client._endpoints import Call, Endpoints
from quorum_client._errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    QuorumAPIError,
    RateLimitError,
    UnavailableError,
    ValidationError,
    parse_retry_after,
)
from quorum_client._models import (
    AgreementPublic,
    AgreementReport,
    BatchResult,
    EstimatePublic,
    EvaluationPublic,
    JudgePublic,
    JudgeStatsPublic,
    JudgeVerdictPublic,
    JuryPublic,
    JuryWorkerPublic,
    PanelPublic,
    QuestionPublic,
    QuestionVerdictPublic,
    ReasonPublic,
    ReviewDecisionPublic,
    ReviewItemPublic,
    RoutingPublic,
    RubricPublic,
    RubricRef,
    ScaleValue,
    VerdictPublic,
    VotePublic,
)
from quorum_client._requests import (
    BatchCreate,
    ClaimRequest,
    ComparisonCreate,
    EvaluationCreate,
    PairwiseInput,
    PointwiseInput,
    ReleaseRequest,
    VerdictRequest,
)

__version__ = "0.1.0"

__all__ = [
    "AgreementPublic",
    "AgreementReport",
    "AsyncQuorumClient",
    "AuthError",
    "BatchCreate",
    "BatchResult",
    "Call",
    "ClaimRequest",
    "ComparisonCreate",
    "ConflictError",
    "Endpoints",
    "EstimatePublic",
    "EvaluationCreate",
    "EvaluationPublic",
    "JudgePublic",
    "JudgeStatsPublic",
    "JudgeVerdictPublic",
    "JuryPublic",
    "JuryWorkerPublic",
    "NotFoundError",
    "PairwiseInput",
    "PanelPublic",
    "PointwiseInput",
    "QuestionPublic",
    "QuestionVerdictPublic",
    "QuorumAPIError",
    "QuorumClient",
    "RateLimitError",
    "ReasonPublic",
    "ReleaseRequest",
    "ReviewDecisionPublic",
    "ReviewItemPublic",
    "RoutingPublic",
    "RubricPublic",
    "RubricRef",
    "ScaleValue",
    "UnavailableError",
    "ValidationError",
    "VerdictPublic",
    "VerdictRequest",
    "VotePublic",
    "__version__",
    "parse_retry_after",
]
