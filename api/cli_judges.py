"""`quorum check-judges`: each judge's key and endpoint (a one-token call), and whether
each panel keeps its quorum of judges up; the same check the service runs at start-up."""

from __future__ import annotations

import argparse
import asyncio

from api.cli_common import settings_of
from api.config import load_config
from api.services.judge_checks import NO_PROVIDER_HINT, readiness


def cmd_check_judges(args: argparse.Namespace) -> int:
    from judges.health import probe_all
    from judges.litellm_client import LiteLLMClient, configure_litellm

    config = load_config(settings_of(args).config)
    configure_litellm()
    statuses = asyncio.run(probe_all(LiteLLMClient(), config.judges.values()))
    width = max(len(name) for name in statuses)
    for name, status in statuses.items():
        if status.up:
            print(f"up    {name:<{width}}  {status.model}  ({status.latency_ms:.0f} ms)")
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
