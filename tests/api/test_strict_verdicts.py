"""A reviewer's verdict is taken as sent: the scale's own JSON type and value, nothing
coerced (issue 17, point 6). `"5"`, `4.0`, `true` and `"PASS"` are 422 with an `errors`
list naming `body.value`; 5 and "pass" are accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import ServerThread, judge
from tests.doubles.judge_server import JudgeDouble


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[str]:
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("strict")
    b = double.base_url
    config = {
        "judges": [
            judge("one", "fixed-1", b),
            judge("three", "fixed-3", b),
            judge("five", "fixed-5", b),
            judge("fails", "fixed-fail", b),
            judge("passes", "fixed-pass", b),
        ],
        "panels": [
            {"name": "split", "rubric": "helpfulness", "judges": ["one", "three", "five"]},
            {"name": "safety-split", "rubric": "safety", "judges": ["fails", "passes"]},
        ],
    }
    path = root / "quorum.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = Settings(database_url=f"sqlite:///{root / 'q.db'}", config=path)
    with ServerThread(create_app(settings), Path(root / "q.db")) as s:
        yield s.url


def claimed(http: httpx.Client, panel: str) -> str:
    r = http.post(
        "/v1/evaluations", json={"panel": panel, "input": {"prompt": "p", "response": "r"}}
    )
    assert r.status_code == 200 and r.json()["status"] == "in_review", r.text
    item = http.post("/v1/reviews/claim", json={"reviewer": "ann", "panel": panel})
    assert item.status_code == 200, item.text
    return str(item.json()["id"])


@pytest.mark.parametrize(
    ("panel", "refused", "accepted"),
    [
        ("split", ["5", 4.0, True, " 5", 6, "five"], 5),
        ("safety-split", ["PASS", " pass", True, 1, "Pass"], "pass"),
    ],
)
def test_off_type_values_are_422_and_exact_ones_decide(
    server: str, panel: str, refused: list[object], accepted: object
) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        item = claimed(http, panel)
        for value in refused:
            r = http.post(f"/v1/reviews/{item}/verdict", json={"reviewer": "ann", "value": value})
            assert r.status_code == 422, (value, r.text)
            problem = r.json()
            assert problem["type"].endswith("/invalid-input")
            assert problem["errors"][0]["location"] == "body.value"
            assert "the same JSON type exactly" in problem["detail"]
        # nothing was recorded: the claim still holds and the exact value decides
        r = http.post(f"/v1/reviews/{item}/verdict", json={"reviewer": "ann", "value": accepted})
        assert r.status_code == 200, r.text
        assert r.json()["final_value"] == accepted
