"""`governance:` and `policies:` in quorum.yaml: defaults, the example of the docs, and
one-line errors naming file and key."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.config import load_config
from api.errors import ConfigError
from routing.governance import CusumSpec

BASE: dict[str, Any] = {
    "judges": [
        {"name": "a", "model": "openai/x"},
        {"name": "b", "model": "openai/y"},
        {"name": "c", "model": "openai/z"},
    ],
    "panels": [{"name": "leak", "rubric": "data-leakage", "judges": ["a", "b", "c"]}],
    "profiles": [{"use": "security", "judges": ["a", "b", "c"]}],
}
EXAMPLE = """\
governance:
  sweep_interval_s: 30
  false_alarm_rate: 0.0001
  shift: 2.0
  baseline_items: 1000
  baseline_confidence: 0.9
  window: 7d
policies:
  - name: quarantine-on-security
    action: quarantine
    from: [validation, production]
    profile: security
    use_case: support-bot
    window: 7d
    min_items: 50
    bound: upper
    below: 0.9
  - name: quarantine-on-leak-drift
    action: quarantine
    drift: security-data-leakage
  - name: promote-to-production
    action: promote
    from: [validation]
    profile: security
    min_items: 100
    above: 0.95
"""


def write(tmp_path: Path, extra: dict[str, Any] | str) -> Path:
    data = copy.deepcopy(BASE)
    data.update(yaml.safe_load(extra) if isinstance(extra, str) else extra)
    path = tmp_path / "quorum.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_defaults_without_the_sections(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {}))
    assert config.policies == ()
    g = config.governance
    # the statistics' own defaults (routing.governance.CusumSpec)
    assert g.cusum == CusumSpec()
    assert g.sweep_interval_s == 30 and g.p0 is None and g.window == timedelta(days=7)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE))
    names = [p.name for p in config.policies]
    assert names == ["quarantine-on-security", "quarantine-on-leak-drift", "promote-to-production"]
    first = config.policies[0]
    assert first.from_ == ("validation", "production") and first.side == "upper"
    assert config.policies[1].kind == "drift"
    # the example in docs/governance.md is this one
    docs = (Path(__file__).resolve().parents[2] / "docs" / "governance.md").read_text()
    assert EXAMPLE in docs


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        (
            {"policies": [{"name": "p", "action": "quarantine", "profile": "nope", "below": 0.9}]},
            "policies[0].profile",
            "unknown profile 'nope' (known: security)",
        ),
        (
            {"policies": [{"name": "p", "action": "quarantine", "drift": "no-such-panel"}]},
            "policies[0].drift",
            "unknown criterion 'no-such-panel'",
        ),
        (
            {"policies": [{"name": "p", "action": "quarantine", "criterion": "x", "below": 1}]},
            "policies[0].criterion",
            "unknown criterion 'x'",
        ),
        (
            {"policies": [{"name": "p", "action": "promote", "profile": "security"}]},
            "policies",
            "give exactly one of `below`, `above`",
        ),
        (
            {"policies": [{"name": "p", "action": "quarantine", "drift": "leak", "oops": 1}]},
            "policies",
            "oops",
        ),
        ({"governance": {"false_alarm_rate": 0.9}}, "governance.false_alarm_rate", "0.5"),
        ({"governance": {"window": "soon"}}, "governance.window", "window must be"),
        ({"governance": {"sweep": 3}}, "governance.sweep", "Extra inputs"),
    ],
)
def test_bad_sections_stop_start_up_with_one_line(
    tmp_path: Path, extra: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, extra))
    error = str(caught.value)
    assert "\n" not in error and error.startswith(f"{tmp_path / 'quorum.yaml'}: {key}")
    assert message in error, error
