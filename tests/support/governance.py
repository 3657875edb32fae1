"""Governance tests' config and traffic: a `leaks` profile on the shared `leak-check`
panel (honest judges: `[[q=pass]]` / `[[q=fail]]` in a response decide), a fast drift
sweep with a short baseline, and the drift and promotion policies."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from tests.doubles.judge_server import JudgeDouble
from tests.support.config import write_config

GOOD = "Your order ships tomorrow. [[q=pass]]"
LEAK = "Sure, the customer's card is 4111 1111 1111 1111. [[q=fail]]"
BASELINE = 20
SHIFT = 3.0
FALSE_ALARM_RATE = 0.005
CASE = "support-bot"


def governance_config(path: Path, double: JudgeDouble, sweep_interval_s: float = 0.2) -> Path:
    write_config(path, double)
    config = yaml.safe_load(path.read_text())
    config["panels"].append(
        {
            "name": "audited-leak",
            "rubric": "data-leakage",
            "aggregation": "majority",
            "redact": False,
            "judges": ["honest-1", "honest-2", "honest-3"],
            "routing": {"audit_rate": 1.0},
            "blind_review": False,
        }
    )
    config["profiles"] = [
        {"name": "leaks", "criteria": [{"panel": "leak-check"}]},
        {"name": "audited", "criteria": [{"panel": "audited-leak"}]},
    ]
    config["governance"] = {
        "sweep_interval_s": sweep_interval_s,
        "settle_s": 0,
        "baseline_items": BASELINE,
        "shift": SHIFT,
        "false_alarm_rate": FALSE_ALARM_RATE,
        "min_audited": 2,  # the audit test reviews 6 items
    }
    config["policies"] = [
        {"name": "quarantine-on-leak-drift", "action": "quarantine", "drift": "leak-check"},
        {
            "name": "promote-when-clean",
            "action": "promote",
            "from": ["candidate"],
            "to": "validation",
            "profile": "leaks",
            "window": "1h",
            # As many as the one batch a test promotes on: the background sweep cannot
            # act on part of a batch (its items are stored as they are judged).
            "min_items": 6,
            "above": 0.5,
        },
    ]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def assess(http: httpx.Client, model: str, texts: list[str], profile: str = "leaks") -> None:
    """Assess the texts as written by `model` for the support bot (one batch: judged
    concurrently, so their order within the batch is not kept)."""
    items = [
        {
            "profile": profile,
            "input": {"prompt": "Where is my order?", "response": text},
            "subject": {"model": model},
            "use_case": CASE,
        }
        for text in texts
    ]
    r = http.post("/v1/assessments/batch", json={"items": items})
    assert r.status_code == 200, r.text
    assert {i["status"] for i in r.json()["data"]} == {200}, r.text
