"""The governance endpoints (docs/governance.md) as `Call`s: subject models and their
zones, transitions, the drift sweep on demand, the routing recommendation and the
compliance matrix. `Endpoints` inherits them."""

from __future__ import annotations

from quorum_client._calls import Call
from quorum_client._calls import body_of as _body
from quorum_client._calls import get as _get
from quorum_client._calls import many as _many
from quorum_client._calls import one as _one
from quorum_client._calls import path as _path
from quorum_client._governance import (
    ComplianceMatrix,
    EvaluateResult,
    ModelPublic,
    RecommendationPublic,
    TransitionCreate,
    TransitionPublic,
    Zone,
)

__all__ = ["GovernanceEndpoints"]


class GovernanceEndpoints:
    """Subject models, zones and compliance (admin scope for moves)."""

    @staticmethod
    def models() -> Call[list[ModelPublic]]:
        """Every subject model of the key's tenant with its zone (candidate, validation,
        production, quarantine), latest transition and drift."""
        return _get("/v1/models", _many(ModelPublic))

    @staticmethod
    def model(model: str) -> Call[ModelPublic]:
        """One subject model's zone; a model never seen is a `candidate`."""
        return _get(_path("/v1/models/{}", model), _one(ModelPublic))

    @staticmethod
    def transitions(model: str) -> Call[list[TransitionPublic]]:
        """A subject model's moves between zones, each with who or which policy made it,
        the reason and the figures it rested on."""
        return _get(_path("/v1/models/{}/transitions", model), _many(TransitionPublic))

    @staticmethod
    def transition(model: str, to: Zone, reason: str) -> Call[TransitionPublic]:
        """Move a model to zone `to`, saying why (admin scope; a move to the zone it is in
        is a ConflictError). Not resent after a lost answer."""
        body = _body(TransitionCreate(to=to, reason=reason))
        return Call("POST", _path("/v1/models/{}/transitions", model), _one(TransitionPublic), body)

    @staticmethod
    def evaluate_model(model: str) -> Call[EvaluateResult]:
        """Run the drift sweep and the policies for `model` now: the transitions they made
        (none: `reason` says why), the drift events raised, and the zone after."""
        return Call("POST", _path("/v1/models/{}/evaluate", model), _one(EvaluateResult))

    @staticmethod
    def recommendation(
        use_case: str | None = None, profile: str | None = None
    ) -> Call[RecommendationPublic]:
        """The model to route `use_case` to: the production model with the best lower
        bound of its compliance on `profile`, with the whole ranking and the reasons
        (`model` None when none qualifies)."""
        parse = _one(RecommendationPublic)
        return _get("/v1/routing/recommendation", parse, use_case=use_case, profile=profile)

    @staticmethod
    def compliance(
        profile: str,
        window: str = "7d",
        *,
        use_case: str | None = None,
        subject_model: str | None = None,
    ) -> Call[ComplianceMatrix]:
        """The compliance matrix of `profile` over `window` (30m, 12h, 7d): per subject
        model x use case and per criterion, the rate with its 95% interval, the rate
        corrected on the audit sample where there is one, and the trend."""
        return _get(
            "/v1/compliance",
            _one(ComplianceMatrix),
            profile=profile,
            window=window,
            use_case=use_case,
            subject_model=subject_model,
        )
