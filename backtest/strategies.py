"""The `sequential` and `cascade` rows of `quorum backtest`: a majority panel of all the
judges that asks them in waves, replayed on recorded votes.

The judges are taken in the dataset's order (first seen in the file) and cut into waves
by `routing.sequential.waves` with the service's panel defaults (from
`routing.sequential`, which the service's panel configuration uses too): quorum a strict
majority of the judges, waves of the quorum unless a row says otherwise, the default
cascade confidence. Each item's recorded votes are then "asked" wave by wave: a judge's
votes (both orders, pairwise) are collected only when its wave is reached, and after each
wave the panel stops when `routing.sequential.stop_rule` says so, the loop of
`judges.PanelRunner.run_waves` without its deadline. Calls are the recorded votes of the
judges asked; the verdict is `routing.conclude` on those votes (in `backtest.replay`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from judges import Vote
from routing import Aggregation
from routing.sequential import (
    DEFAULT_CASCADE_CONFIDENCE,
    StopRule,
    Strategy,
    default_quorum,
    stop_rule,
    waves,
)
from rubrics import Rubric

__all__ = ["AGGREGATION", "STRATEGIES", "StrategyReplay", "ask_in_waves", "replay_strategy"]

AGGREGATION = Aggregation.MAJORITY
"""The aggregation of every replayed wave strategy."""


class StrategyReplay(BaseModel):
    """One wave strategy to replay: the panel settings that differ from the defaults."""

    model_config = ConfigDict(frozen=True)

    strategy: Strategy
    threshold: float = Field(default=DEFAULT_CASCADE_CONFIDENCE, gt=0, le=1)
    """The cascade's `cascade_confidence` (ignored by `sequential`)."""
    wave_size: int | None = Field(default=None, ge=1)
    """Judges per wave; None: the service default, the quorum."""

    @property
    def name(self) -> str:
        """The row name: `sequential` or `cascade <threshold>`, and any wave size."""
        name = self.strategy if self.strategy == "sequential" else f"cascade {self.threshold:g}"
        return name if self.wave_size is None else f"{name}, waves of {self.wave_size}"


STRATEGIES = (
    StrategyReplay(strategy="sequential"),
    StrategyReplay(strategy="sequential", wave_size=1),
    StrategyReplay(strategy="cascade", threshold=0.6),
    StrategyReplay(strategy="cascade"),
    StrategyReplay(strategy="cascade", wave_size=1),
)
"""The rows the backtest adds: sequential with the default waves and with waves of one
judge, the cascade at a looser threshold and at the service default (0.75), and the
default cascade with waves of one judge."""


def ask_in_waves(
    recorded: Sequence[Vote], plan: Sequence[Sequence[str]], stop: StopRule
) -> tuple[Vote, ...]:
    """The recorded votes a panel asking the waves of judge names `plan` in turn collects:
    after each wave it stops when no judge is left or `stop(votes so far, judges not yet
    asked)` is true, as `judges.PanelRunner.run_waves` does."""
    votes: list[Vote] = []
    for i, wave in enumerate(plan):
        asked = set(wave)
        votes += [v for v in recorded if v.judge in asked]
        pending = [name for later in plan[i + 1 :] for name in later]
        if not pending or stop(votes, pending):
            break
    return tuple(votes)


def replay_strategy(
    rubric: Rubric,
    items: Sequence[Sequence[Vote]],
    judges: Sequence[str],
    replay: StrategyReplay,
) -> list[tuple[Vote, ...]]:
    """Each item's votes collected by a majority panel of `judges` (in this order, the
    default quorum) asking in waves under `replay`'s strategy."""
    quorum = default_quorum(len(judges))
    weights = dict.fromkeys(judges, 1.0)  # what the service uses for a majority panel
    stop = stop_rule(replay.strategy, rubric, AGGREGATION, weights, quorum, replay.threshold)
    plan = waves(judges, replay.wave_size, quorum)
    return [ask_in_waves(votes, plan, stop) for votes in items]
