"""The quorum.yaml written for the judge double: the shared test panels (panels.yaml) and
variants built on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.doubles.judge_server import JudgeDouble

PANELS = Path(__file__).with_name("panels.yaml")


def judge(name: str, behaviour: str, base: str, **extra: object) -> dict[str, object]:
    """One judge entry whose model is the double's `behaviour`, served at `base`."""
    return {"name": name, "model": f"openai/{behaviour}", "api_base": base, **extra}


def shared_config(double: JudgeDouble) -> dict[str, Any]:
    """The shared test panels (panels.yaml), every judge pointed at `double`."""
    config: dict[str, Any] = yaml.safe_load(PANELS.read_text())
    config["judges"] = [
        judge(j.pop("name"), j.pop("model").removeprefix("openai/"), double.base_url, **j)
        for j in config["judges"]
    ]
    return config


def write_config(path: Path, double: JudgeDouble) -> Path:
    """The test panels: honest juries, split juries, and juries with misbehaving judges."""
    path.write_text(yaml.safe_dump(shared_config(double), sort_keys=False))
    return path


def slow_config(path: Path, double: JudgeDouble, sleep_ms: int, deadline_s: float) -> Path:
    """The shared test config plus panel `sleepy`: three honest judges that each think for
    `sleep_ms` before answering, under a deadline of `deadline_s`."""
    config = shared_config(double)
    names = [f"sleepy-{i}" for i in (1, 2, 3)]
    config["judges"] += [
        judge(name, f"sleep-{sleep_ms}-honest", double.base_url, timeout_s=10, max_retries=0)
        | {"family": name}
        for name in names
    ]
    config["panels"].append(
        {
            "name": "sleepy",
            "rubric": "helpfulness",
            "aggregation": "majority",
            "deadline_s": deadline_s,
            "judges": names,
        }
    )
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
