"""`quorum check-judges`: each judge's key and endpoint (a one-token call), and whether
each panel keeps its quorum of judges up; the same check the service runs at start-up."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from api.cli_common import settings_of
from api.config import QuorumConfig, load_config
from api.services.judge_checks import NO_PROVIDER_HINT, readiness

if TYPE_CHECKING:  # imported when the command runs: they load litellm
    from judges.health import JudgeStatus
    from judges.litellm_client import LiteLLMClient


async def _probe(client: LiteLLMClient, config: QuorumConfig) -> dict[str, JudgeStatus]:
    """Probe every judge, then close the client's connections."""
    from judges.health import probe_all

    try:
        return await probe_all(client, config.judges.values())
    finally:
        await client.aclose()


def cmd_check_judges(args: argparse.Namespace) -> int:
    from judges.litellm_client import LiteLLMClient, configure_litellm

    config = load_config(settings_of(args).config)
    configure_litellm()
    statuses = asyncio.run(_probe(LiteLLMClient(), config))
    width = max(len(name) for name in statuses)
    for name, status in statuses.items():
        if status.up:
            took = "" if status.latency_ms is None else f"  ({status.latency_ms:.0f} ms)"
            print(f"up    {name:<{width}}  {status.model}{took}")  # a pattern juror: no call
        else:
            print(f"DOWN  {name:<{width}}  {status.model}: {status.reason}")
    ready = True
    for name in config.panels:
        p = readiness(config, statuses, name)
        state = "ready" if p.ready else "NOT READY: cannot decide, every item would go to humans"
        print(f"panel {name}: {p.judges_up} of {p.judges} judges up, quorum {p.quorum}: {state}")
        ready = ready and p.ready
    if not ready:
        print(NO_PROVIDER_HINT)
    return 0 if ready else 1
