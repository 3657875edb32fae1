"""The reliability weights in force for `weighted` panels, per process.

Refreshed by the lifespan task from the window statistics (`StatsService.agreement`),
never as a side effect of a read: `GET /v1/panels/{name}/agreement?window=30m` must not
change later verdicts. Until a refresh has estimated them, panels use the configured
prior weights.
"""

from __future__ import annotations

from api.config import QuorumConfig
from api.services.stats import WindowStats
from routing import Aggregation, ReliabilityWeights


class ReliabilityInForce:
    """The estimated weights each weighted panel judges with."""

    def __init__(self, config: QuorumConfig) -> None:
        self.config = config
        self._weights: dict[str, ReliabilityWeights] = {}

    def update(self, panel: str, stats: WindowStats) -> None:
        """Take the weights estimated over the configured window for `panel`."""
        configured = self.config.panels.get(panel)
        if configured is None or configured.aggregation is not Aggregation.WEIGHTED:
            return
        if stats.weights is not None:
            self._weights[panel] = stats.weights

    def weights_for(self, panel: str) -> dict[str, float] | None:
        """The estimated weights in force for `panel`, or None (use the configured priors)."""
        found = self._weights.get(panel)
        return dict(zip(found.judges, found.weights, strict=True)) if found else None
