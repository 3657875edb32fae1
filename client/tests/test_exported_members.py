"""The public surface: `__all__` names exactly what the package exports, every public class
says it lives in `quorum_client`, and importing the client loads none of the service."""

from __future__ import annotations

import subprocess
import sys
import types
import unittest

import quorum_client

PUBLIC = {
    "AgreementPublic", "AgreementReport", "AsyncQuorumClient", "AuthError", "BatchCreate",
    "BatchResult", "Call", "ClaimRequest", "ComparisonCreate", "ConflictError", "Endpoints",
    "EstimatePublic", "EvaluationCreate", "EvaluationPublic", "JudgePublic", "JudgeStatsPublic",
    "JudgeVerdictPublic", "JuryPublic", "JuryWorkerPublic", "NotFoundError", "PairwiseInput",
    "PanelPublic", "PointwiseInput", "QuestionPublic", "QuestionVerdictPublic", "QuorumAPIError",
    "QuorumClient", "RateLimitError", "ReasonPublic", "ReleaseRequest",
    "ReviewDecisionPublic", "ReviewItemPublic", "RoutingPublic", "RubricPublic", "RubricRef",
    "ScaleValue", "UnavailableError", "ValidationError", "VerdictPublic", "VerdictRequest",
    "VotePublic", "__version__", "parse_retry_after",
    # assessments and profiles (issue 18)
    "AssessmentCreate", "AssessmentPublic", "ChatMessage", "CompliancePublic", "CriterionPublic",
    "ProfileCriterionPublic", "ProfilePublic",
    # the subject of a judged response (issue 19)
    "Subject", "SubjectPublic",
    # governance (issue 19)
    "Change", "ComplianceMatrix", "ComplianceRow", "CorrectedRate", "CriterionCompliance",
    "DriftEventPublic", "EvaluateResult", "ModelPublic", "Ranked", "Rate",
    "RecommendationPublic", "TransitionCreate", "TransitionPublic", "Trend", "TrendPoint",
    "Zone",
    # an answer that is not Quorum's (a redirect, an HTML page where JSON was due)
    "UnexpectedResponseError",
}  # fmt: skip
SERVICE = ("api", "rubrics", "judges", "routing", "backtest", "fastapi", "sqlalchemy",
           "sqlmodel", "litellm", "psycopg", "redis", "matplotlib", "numpy")  # fmt: skip


class ExportedMembersTest(unittest.TestCase):
    def test_all_is_the_public_surface(self) -> None:
        self.assertEqual(set(quorum_client.__all__), PUBLIC)
        public = {n for n in dir(quorum_client) if not n.startswith("_")}
        # The private modules start with _; the optional `litellm` subpackage (its own
        # extra) is an attribute only once something imported it.
        public -= {n for n in public if isinstance(getattr(quorum_client, n), types.ModuleType)}
        self.assertEqual(public, PUBLIC - {"__version__"})

    def test_public_classes_are_defined_in_the_package(self) -> None:
        for name in quorum_client.__all__:
            member = getattr(quorum_client, name)
            if isinstance(member, type):
                self.assertTrue(member.__module__.startswith("quorum_client."), name)

    def test_importing_the_client_loads_nothing_of_the_service(self) -> None:
        code = (
            "import sys, quorum_client\n"
            f"print(' '.join(sorted(m for m in {SERVICE!r} if m in sys.modules)))"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        self.assertEqual(loaded, [])


if __name__ == "__main__":
    unittest.main()
