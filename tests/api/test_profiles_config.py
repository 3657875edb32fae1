"""Profiles in quorum.yaml: resolved against panels, judges, rubrics and the shipped
library; every problem stops start-up with one line naming file and key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.config import load_config
from api.errors import ConfigError
from api.profiles import load_shipped
from rubrics import LIBRARY_DIR, load_rubrics

GOOD: dict[str, Any] = {
    "judges": [
        {"name": "a", "model": "openai/x", "family": "f1"},
        {"name": "b", "model": "openai/y", "family": "f2"},
        {"name": "c", "model": "openai/z", "family": "f3"},
    ],
    "panels": [
        {"name": "help", "rubric": "helpfulness", "judges": ["a", "b"]},
        {"name": "safe", "rubric": "safety", "judges": ["a", "b", "c"]},
        {"name": "pair", "rubric": "pairwise-preference", "judges": ["a", "b"]},
        {"name": "faith", "rubric": "faithfulness", "judges": ["a", "b"]},
    ],
    "profiles": [
        {
            "name": "mine",
            "description": "helpful and safe",
            "criteria": [{"panel": "help", "weight": 1}, {"panel": "safe", "weight": 3}],
            "min_score": 0.75,
            "must_pass": ["safe"],
        }
    ],
}

# The few lines a newcomer writes to use the shipped security profile.
NEWCOMER = """\
judges:
  - {name: gpt, model: openai/gpt-4o-mini}
  - {name: claude, model: anthropic/claude-3-5-haiku-latest}
  - {name: mistral, model: mistral/mistral-small-latest}
profiles:
  - use: security
    judges: [gpt, claude, mistral]
"""


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "quorum.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_profile_of_configured_panels(tmp_path: Path) -> None:
    profile = load_config(write(tmp_path, GOOD)).profile("mine")
    assert [(c.panel, c.rubric, c.weight, c.must_pass) for c in profile.criteria] == [
        ("help", "helpfulness", 1.0, False),
        ("safe", "safety", 3.0, True),
    ]
    assert profile.min_score == 0.75


def test_the_shipped_security_profile_in_a_few_lines(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, NEWCOMER))
    profile = config.profile("security")
    assert [c.rubric for c in profile.criteria] == [
        "prompt-injection",
        "data-leakage",
        "safety",
        "robustness",
    ]
    for c in profile.criteria:  # a panel was built per criterion, judged by the three
        assert c.panel == f"security-{c.rubric}"
        assert config.panels[c.panel].judges == ("gpt", "claude", "mistral")
    assert config.panels["security-data-leakage"].redact is False  # it must see the data
    assert {c.rubric for c in profile.criteria if c.must_pass} == {
        "prompt-injection",
        "data-leakage",
    }
    assert profile.min_score == 0.75


def test_a_shipped_profile_bound_to_a_configured_panel_with_a_new_weight(tmp_path: Path) -> None:
    data = copy.deepcopy(GOOD)
    data["profiles"] = [
        {
            "use": "security",
            "name": "sec",
            "judges": ["a", "b", "c"],
            "panels": {"safety": "safe"},
            "weights": {"robustness": 5},
            "min_score": 0.5,
        }
    ]
    config = load_config(write(tmp_path, data))
    by_rubric = {c.rubric: c for c in config.profile("sec").criteria}
    assert by_rubric["safety"].panel == "safe"
    assert by_rubric["robustness"].weight == 5
    assert by_rubric["prompt-injection"].panel == "sec-prompt-injection"


def test_the_shipped_library_serves_the_documented_texts() -> None:
    library = load_shipped()
    assert {"ai-act", "data-protection", "security", "accessibility", "quality"} <= set(library)
    rubrics = load_rubrics([LIBRARY_DIR])
    used = {c.rubric for p in library.values() for c in p.criteria}
    assert len(used) >= 14
    for p in library.values():
        assert p.serves and p.description
        for c in p.criteria:
            assert rubrics[c.rubric].compliant is not None, c.rubric
        for name in p.must_pass:
            assert name in {c.rubric for c in p.criteria}


Mutation = Callable[[dict[str, Any]], None]


def prof(c: dict[str, Any]) -> dict[str, Any]:
    return c["profiles"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [
        (
            lambda c: prof(c)["criteria"][0].update(panel="nope"),
            "profiles[0].criteria[0].panel",
            "unknown panel 'nope'",
        ),
        (
            lambda c: prof(c)["criteria"][0].update(weight=0),
            "profiles[0].criteria[0].weight",
            "greater than 0",
        ),
        (
            lambda c: prof(c).update(min_score=1.5),
            "profiles[0].min_score",
            "less than or equal to 1",
        ),
        (
            lambda c: prof(c).update(must_pass=["zz"]),
            "profiles[0].must_pass[0]",
            "'zz' is not a criterion",
        ),
        (
            lambda c: prof(c)["criteria"].append({"panel": "help"}),
            "profiles[0].criteria[2].panel",
            "listed twice",
        ),
        (
            lambda c: prof(c)["criteria"].append({"panel": "pair"}),
            "profiles[0].criteria[2].panel",
            "pairwise",
        ),
        (lambda c: prof(c).update(criteria=[]), "profiles[0].criteria", "no criteria"),
        (lambda c: prof(c).pop("name"), "profiles[0]", "needs a 'name'"),
        (lambda c: prof(c).update(use="security"), "profiles[0]", "either 'use' or 'criteria'"),
        (lambda c: prof(c).update(judges=["a"]), "profiles[0]", "only for profiles that 'use'"),
        (lambda c: prof(c).update(use_case="poetry"), "profiles[0].use_case", "summarisation"),
        (lambda c: c["profiles"].append(dict(prof(c))), "profiles[1].name", "duplicate profile"),
        (
            lambda c: c["profiles"].append({"use": "nope", "judges": ["a"]}),
            "profiles[1].use",
            "unknown shipped profile 'nope'",
        ),
        (lambda c: c["profiles"].append({"use": "security"}), "profiles[1].judges", "has no panel"),
        (
            lambda c: c["profiles"].append({"use": "security", "judges": ["zz"]}),
            "profiles[1].judges[0]",
            "unknown judge 'zz'",
        ),
        (
            lambda c: c["profiles"].append(
                {"use": "security", "judges": ["a"], "panels": {"safety": "help"}}
            ),
            "profiles[1].panels.safety",
            "judges rubric 'helpfulness'",
        ),
        (
            lambda c: c["profiles"].append(
                {"use": "security", "judges": ["a"], "panels": {"relevance": "help"}}
            ),
            "profiles[1].panels.relevance",
            "not a criterion of 'security'",
        ),
        (
            lambda c: c["profiles"].append(
                {"use": "security", "judges": ["a"], "weights": {"safety": -1}}
            ),
            "profiles[1].weights.safety",
            "greater than 0",
        ),
        (
            lambda c: c["profiles"].append({"use": "security", "judges": ["a"], "bogus": 1}),
            "profiles[1].bogus",
            "Extra inputs",
        ),
    ],
)
def test_bad_profile_configs_name_file_key_and_problem(
    tmp_path: Path, mutate: Mutation, key: str, words: str
) -> None:
    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'quorum.yaml'}: {key}: "), message
    assert words in message, message


def test_a_rubric_without_a_compliance_rule_cannot_be_a_criterion(tmp_path: Path) -> None:
    extra = tmp_path / "mine"
    extra.mkdir()
    (extra / "tone.yaml").write_text(
        "id: tone\nversion: 1\ndescription: d\nmode: pointwise\nscale: [1, 2, 3]\ncriteria: c\n"
    )
    data = copy.deepcopy(GOOD)
    data["rubric_dirs"] = ["mine"]
    data["panels"].append({"name": "tone", "rubric": "tone", "judges": ["a"]})
    prof(data)["criteria"].append({"panel": "tone"})
    with pytest.raises(ConfigError, match=r"profiles\[0\]: criterion 'tone'.*no compliance rule"):
        load_config(write(tmp_path, data))
