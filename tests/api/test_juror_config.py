"""Jurors and checklist panels in quorum.yaml: what loads, and the one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from api.config import load_config
from api.errors import ConfigError
from judges import JudgeConfig
from judges.jurors.embedding import missing_extra

LLM = {"name": "gpt", "model": "openai/x"}
PATTERN = {"name": "leaks", "type": "pattern"}
EMBED = {"name": "near", "type": "embedding", "thresholds": {2: 0.3, 3: 0.5, 4: 0.7, 5: 0.85}}


def config(judges: list[dict[str, Any]], panel: dict[str, Any]) -> dict[str, Any]:
    return {"judges": judges, "panels": [{"name": "p", **panel}]}


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "quorum.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def problem(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data))
    message = str(info.value)
    assert "\n" not in message
    return message.removeprefix(f"{tmp_path / 'quorum.yaml'}: ")


def test_a_pattern_juror_without_keys_uses_every_set(tmp_path: Path) -> None:
    data = config(
        [LLM, PATTERN], {"rubric": "data-leakage", "redact": False, "judges": ["gpt", "leaks"]}
    )
    loaded = load_config(write(tmp_path, data))
    juror = loaded.judges["leaks"]
    assert (juror.type, juror.model, juror.sets) == ("pattern", "pattern", None)
    assert loaded.judges["gpt"].type == "llm"


def test_embedding_thresholds_read_yaml_int_keys() -> None:
    judge = JudgeConfig.model_validate(EMBED)
    assert judge.thresholds == {"2": 0.3, "3": 0.5, "4": 0.7, "5": 0.85}
    assert judge.model == "all-MiniLM-L6-v2"


@pytest.mark.parametrize(
    ("judge", "words"),
    [
        ({"name": "x"}, "model is required"),
        ({"name": "x", "model": "openai/x", "sets": ["email"]}, "sets applies to jurors only"),
        ({**PATTERN, "sets": ["email", "passport"]}, "unknown pattern sets ['passport']"),
        ({**PATTERN, "sets": []}, "sets is empty"),
        ({**PATTERN, "api_base": "http://h"}, "calls no LLM: ['api_base'] do not apply"),
        ({**PATTERN, "thresholds": {"pass": 0.5}}, "thresholds apply to embedding jurors only"),
        ({"name": "near", "type": "embedding"}, "needs thresholds"),
        ({**EMBED, "sets": ["email"]}, "sets apply to pattern jurors only"),
        ({"name": "x", "type": "regex"}, "Input should be 'llm', 'pattern' or 'embedding'"),
    ],
)
def test_bad_juror_keys(tmp_path: Path, judge: dict[str, Any], words: str) -> None:
    data = config([judge], {"rubric": "data-leakage", "judges": [judge["name"]]})
    assert words in problem(tmp_path, data)


def test_a_pattern_juror_refuses_a_rubric_that_is_not_fail_pass(tmp_path: Path) -> None:
    data = config([LLM, PATTERN], {"rubric": "helpfulness", "judges": ["gpt", "leaks"]})
    assert problem(tmp_path, data) == (
        "panels[0].judges[1]: judge 'leaks': a pattern juror votes fail/pass: rubric "
        "'helpfulness' has scale [1, 2, 3, 4, 5], not ['fail', 'pass']"
    )


def test_a_juror_refuses_a_pairwise_panel(tmp_path: Path) -> None:
    data = config([LLM, PATTERN], {"rubric": "pairwise-preference", "judges": ["gpt", "leaks"]})
    assert "a pattern juror judges pointwise rubrics only" in problem(tmp_path, data)


@pytest.mark.parametrize(
    ("thresholds", "words"),
    [
        ({1: 0.2, 2: 0.5}, "thresholds name ['1'], not values above the worst"),
        ({2: 0.7, 3: 0.5}, "thresholds must rise with the scale"),
        ({5: 1.5}, "each must lie in -1..1"),
    ],
)
def test_embedding_thresholds_must_fit_the_scale(
    tmp_path: Path, thresholds: dict[int, float], words: str
) -> None:
    judge = {**EMBED, "thresholds": thresholds}
    data = config([LLM, judge], {"rubric": "helpfulness", "judges": ["gpt", "near"]})
    assert words in problem(tmp_path, data)


def test_an_embedding_panel_loads_when_the_extra_is_installed(tmp_path: Path) -> None:
    data = config([LLM, EMBED], {"rubric": "helpfulness", "judges": ["gpt", "near"]})
    missing = missing_extra()
    if missing:
        assert "quorum[embedding]" in problem(tmp_path, data)
    else:
        assert load_config(write(tmp_path, data)).judges["near"].type == "embedding"


@pytest.mark.parametrize(
    ("panel", "words"),
    [
        ({"aggregation": "median"}, "panels[0].aggregation: "),
        (
            {"strategy": "sequential"},
            "panels[0].strategy: a checklist panel asks its judges in parallel",
        ),
        ({"scale_swap": True}, "panels[0].scale_swap: a checklist has no scale to swap"),
    ],
)
def test_checklist_panel_limits(tmp_path: Path, panel: dict[str, Any], words: str) -> None:
    data = config([LLM], {"rubric": "transparency-checklist", "judges": ["gpt"], **panel})
    assert words in problem(tmp_path, data)
