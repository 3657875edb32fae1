"""A Quorum server with the test panels plus two that the review views need: a blind panel
with two reviewers (so that disagreeing reviews go to adjudication), and a pairwise panel
whose judges always name the response shown first (so that every comparison is position
inconsistent and goes to humans)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from api.app import create_app
from api.settings import Settings
from tests.conftest import ServerThread, judge, write_config
from tests.doubles.judge_server import JudgeDouble

BLIND_DOUBLE = "blind-double"
FIRST_PAIR = "first-pair"


def write_review_config(path: Path, double: JudgeDouble) -> Path:
    config: dict[str, Any] = yaml.safe_load(write_config(path, double).read_text())
    config["judges"] += [judge(f"first-{i}", "fixed-A", double.base_url) for i in (1, 2, 3)]
    config["panels"] += [
        {
            "name": BLIND_DOUBLE,
            "rubric": "helpfulness",
            "judges": ["fixed-1", "fixed-3", "fixed-5"],
            "reviewers": 2,
            "blind_review": True,
        },
        {
            "name": FIRST_PAIR,
            "rubric": "pairwise-preference",
            "judges": ["first-1", "first-2", "first-3"],
        },
    ]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextmanager
def review_server(root: Path, double: JudgeDouble) -> Iterator[ServerThread]:
    """A real Quorum service on SQLite with those panels."""
    database = root / "quorum.db"
    settings = Settings(
        database_url=f"sqlite:///{database}",
        config=write_review_config(root / "quorum.yaml", double),
    )
    with ServerThread(create_app(settings), database) as server:
        yield server
