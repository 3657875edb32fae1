"""The newcomer's example in docs/profiles.md, run as written: the shipped security profile
configured in a few lines, one response POSTed, every criterion's verdict and the weighted
compliance in one answer. The judges' providers are stood in for by the loopback double
(each model name answered as a judge that finds the response compliant)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import ServerThread
from tests.doubles.judge_server import JudgeDouble

DOC = Path(__file__).parents[2] / "docs" / "profiles.md"


def example(name: str) -> str:
    """The code block that follows `<!-- example: name -->` in the doc."""
    found = re.search(
        rf"<!-- example: {name} -->\n```\w+\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.S
    )
    assert found, f"docs/profiles.md has no example {name!r}"
    return found.group(1)


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    from api.app import create_app
    from api.settings import Settings

    config = yaml.safe_load(example("config"))
    models = [j["model"].split("/", 1)[1] for j in config["judges"]]
    root = tmp_path_factory.mktemp("newcomer")
    with JudgeDouble(aliases={m: "fixed-pass" for m in models}) as double:
        for j in config["judges"]:  # the provider, stood in for by the double
            j["model"] = "openai/" + j["model"].split("/", 1)[1]
            j["api_base"] = double.base_url
            j.pop("api_key_env")
        path = root / "quorum.yaml"
        path.write_text(yaml.safe_dump(config))
        settings = Settings(database_url=f"sqlite:///{root / 'q.db'}", config=path)
        with (
            ServerThread(create_app(settings)) as server,
            httpx.Client(base_url=server.url, timeout=60) as http,
        ):
            yield http


def shape(documented: Any, got: Any, where: str = "answer") -> None:
    """Every key and value the doc shows is in the answer (ids and abridged parts aside)."""
    if isinstance(documented, dict):
        for key, value in documented.items():
            assert key in got, f"{where}.{key} is documented but not answered"
            if key != "id":
                shape(value, got[key], f"{where}.{key}")
    elif isinstance(documented, list):
        assert len(documented) == len(got), where
        for i, (d, g) in enumerate(zip(documented, got, strict=True)):
            shape(d, g, f"{where}[{i}]")
    else:
        assert documented == got, f"{where}: documented {documented!r}, answered {got!r}"


def test_the_documented_security_example_answers_as_documented(newcomer: httpx.Client) -> None:
    r = newcomer.post("/v1/assessments", json=json.loads(example("request")))
    assert r.status_code == 200, r.text
    answer = r.json()
    shape(json.loads(example("answer")), answer)
    # the per-criterion verdicts and the weighted score, in one answer
    assert answer["compliance"]["score"] == 1.0 and answer["compliance"]["compliant"] is True
    for c in answer["criteria"]:
        assert len(c["evaluation"]["votes"]) == 3  # gpt, claude, mistral
    # the input fields, as sent, with the system prompt
    first = answer["criteria"][0]["evaluation"]
    assert first["input"]["system"].startswith("You are the support assistant")
    panels = {p["name"] for p in newcomer.get("/v1/panels").json()["data"]}
    assert {c["panel"] for c in answer["criteria"]} <= panels
