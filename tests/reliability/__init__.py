"""Reliability tests: fuzzing the live API, a crash mid-evaluation, the database going away."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import write_config
from tests.doubles.judge_server import JudgeDouble


def slow_config(path: Path, double: JudgeDouble, sleep_ms: int, deadline_s: float) -> Path:
    """The shared test config plus panel `sleepy`: three honest judges that each think for
    `sleep_ms` before answering, under a deadline of `deadline_s`."""
    config = yaml.safe_load(write_config(path, double).read_text())
    names = [f"sleepy-{i}" for i in (1, 2, 3)]
    config["judges"] += [
        {
            "name": name,
            "model": f"openai/sleep-{sleep_ms}-honest",
            "api_base": double.base_url,
            "timeout_s": 10,
            "max_retries": 0,
            "family": name,
        }
        for name in names
    ]
    config["panels"].append(
        {"name": "sleepy", "rubric": "helpfulness", "deadline_s": deadline_s, "judges": names}
    )
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
