"""Which judges are reachable, and so which panels can reach their quorum.

At start-up and then every `judge_check_interval_s` the lifespan probes every configured
judge (`judges.health`: key present, a one-token call answered within its timeout). The
result is cached here: `/readyz` reads it and never calls a judge itself. A panel with
fewer judges up than its quorum cannot decide anything (every item would go to humans),
so the service is not ready for it: `/readyz` answers 503 while any panel is in that
state (`/readyz?panel=NAME` asks about one panel), naming the judges down and why.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel

from api.config import QuorumConfig
from api.metrics import Metrics
from judges import ChatClient
from judges.health import JudgeStatus, probe_all

log = logging.getLogger("quorum")

NO_PROVIDER_HINT = (
    "to try Quorum with no provider, see the README's 'Try it with no provider' (make demo)"
)


class PanelReadiness(BaseModel):
    """One panel's judges as last checked."""

    ready: bool
    """At least `quorum` judges up."""
    quorum: int
    judges_up: int
    judges: int
    down: dict[str, str]
    """Judge name -> why it is down."""


class JudgeChecks:
    """The cached outcome of the last judge check."""

    def __init__(
        self, config: QuorumConfig, client: ChatClient, metrics: Metrics | None = None
    ) -> None:
        self.config = config
        self.client = client
        self.metrics = metrics
        self.statuses: dict[str, JudgeStatus] = {}
        self.checked = False

    async def refresh(self) -> dict[str, JudgeStatus]:
        """Probe every judge once (concurrently); log what changed, in one line each."""
        found = await probe_all(self.client, self.config.judges.values())
        first = not self.checked
        before = self.statuses
        self.statuses, self.checked = found, True
        for name, status in found.items():
            if self.metrics is not None:
                self.metrics.judge_up.labels(judge=name).set(1 if status.up else 0)
            was = before.get(name)
            if not status.up and (first or (was is not None and was.up)):
                log.warning(
                    "judge %s (%s) is down: %s; panels: %s",
                    name,
                    status.model,
                    status.reason,
                    ", ".join(self._panels_of(name)) or "none",
                )
            elif status.up and was is not None and not was.up:
                log.info("judge %s (%s) is up again", name, status.model)
        for name, panel in self.panels().items():
            if not panel.ready and (first or before_ready(before, self.config, name)):
                log.warning(
                    "panel %s has %d of %d judges up (quorum %d): it cannot decide; every "
                    "item goes to human review until they answer. %s",
                    name,
                    panel.judges_up,
                    panel.judges,
                    panel.quorum,
                    NO_PROVIDER_HINT,
                )
        return found

    def _panels_of(self, judge: str) -> list[str]:
        return [p.name for p in self.config.panels.values() if judge in p.judges]

    def panels(self) -> dict[str, PanelReadiness]:
        """Every panel's readiness from the last check."""
        return {name: readiness(self.config, self.statuses, name) for name in self.config.panels}


def readiness(config: QuorumConfig, statuses: dict[str, JudgeStatus], panel: str) -> PanelReadiness:
    p = config.panels[panel]
    down = {
        j: (statuses[j].reason or "down") if j in statuses else "not checked"
        for j in p.judges
        if j not in statuses or not statuses[j].up
    }
    up = len(p.judges) - len(down)
    return PanelReadiness(
        ready=up >= p.effective_quorum,
        quorum=p.effective_quorum,
        judges_up=up,
        judges=len(p.judges),
        down=down,
    )


def before_ready(before: dict[str, JudgeStatus], config: QuorumConfig, panel: str) -> bool:
    """Whether the panel was ready at the previous check (so a new loss is logged once)."""
    return bool(before) and readiness(config, before, panel).ready
