"""Config messages: every malformed config is refused with one line naming the file, the
key and what is wrong (never a traceback, a hang, or a misleading message), and what is
valid but likely a typo (a judge in no panel) is a warning that does not stop start-up."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import yaml

from api.config import load_config
from api.errors import ConfigError
from tests.support import quorum_cli

JUDGES = "judges: [{name: a, model: openai/x}, {name: b, model: openai/y}]\n"
PANEL = "{name: p, rubric: helpfulness, judges: [a, b]}"
PANELS = f"panels: [{PANEL}]\n"
GOOD = JUDGES + PANELS
PROFILE = "profiles: [{name: x, criteria: [{panel: p}]}]\n"


def judge(extra: str) -> str:
    """The config with judge `a` given `extra` keys (flow YAML)."""
    return (
        f"judges: [{{name: a, model: openai/x, {extra}}}, {{name: b, model: openai/y}}]\n" + PANELS
    )


def panel(extra: str) -> str:
    """The config with panel `p` given `extra` keys (flow YAML)."""
    return JUDGES + f"panels: [{{name: p, rubric: helpfulness, judges: [a, b], {extra}}}]\n"


def bomb(levels: int) -> str:
    """A billion-laughs alias bomb as flow-mapping entries: `levels` lists of ten aliases
    to the list below, `x` the top one (10^levels values once expanded)."""
    entries = ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, levels):
        entries.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return ", ".join([*entries, f"x: *l{levels - 1}"])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quorum.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problem(tmp_path: Path, text: str) -> str:
    """The one-line message of loading `text`, checked to start with the file's name."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith(f"{tmp_path / 'quorum.yaml'}: "), message
    return message


# (id, config text, key, words in the problem). Each was a misleading message, a message
# without the key, or silently accepted before.
CASES = [
    # empty and null lists say so, not "Field required" or "Tuple should have..."
    ("panels-empty", JUDGES + "panels: []\n", "panels", "no panels: list at least one"),
    ("panels-and-profiles-empty", JUDGES + "panels: []\nprofiles: []\n", "panels", "no panels"),
    ("panels-null", JUDGES + "panels:\n", "panels", "expected a list, got null"),
    ("judges-empty", "judges: []\n" + PANELS, "judges", "no judges: list at least one"),
    ("judges-null", "judges: ~\n" + PANELS, "judges", "expected a list, got null"),
    (
        "panel-judges-empty",
        panel("").replace("[a, b]", "[]"),
        "panels[0].judges",
        "no judges: a panel needs at least one",
    ),
    (
        "panel-judges-null",
        panel("").replace("[a, b]", "null"),
        "panels[0].judges",
        "expected a list, got null",
    ),
    (
        "profile-criteria-empty",
        GOOD + "profiles: [{name: x, criteria: []}]\n",
        "profiles[0].criteria",
        "no criteria",
    ),
    (
        "profile-criteria-missing",
        GOOD + "profiles: [{name: x}]\n",
        "profiles[0].criteria",
        "no criteria",
    ),
    (
        "profile-criteria-null",
        GOOD + "profiles: [{name: x, criteria: null}]\n",
        "profiles[0].criteria",
        "expected a list, got null",
    ),
    ("profiles-null", GOOD + "profiles:\n", "profiles", "expected a list, got null"),
    ("policies-null", GOOD + "policies:\n", "policies", "expected a list, got null"),
    ("rubric-dirs-null", GOOD + "rubric_dirs:\n", "rubric_dirs", "expected a list, got null"),
    (
        "governance-null",
        GOOD + "governance:\n",
        "governance",
        "expected a mapping (key: value), got null",
    ),
    # wrong types are said in YAML's words: a list, a mapping, what was given
    (
        "judges-mapping",
        "judges: {a: {model: m}}\n" + PANELS,
        "judges",
        "expected a list, got a mapping",
    ),
    ("judges-string", "judges: a\n" + PANELS, "judges", "expected a list, got 'a' (a string)"),
    (
        "judge-string",
        "judges: [a]\n" + PANELS,
        "judges[0]",
        "expected a mapping (key: value), got 'a'",
    ),
    (
        "panel-null",
        JUDGES + "panels: [~]\n",
        "panels[0]",
        "expected a mapping (key: value), got null",
    ),
    (
        "routing-list",
        panel("routing: [1]"),
        "panels[0].routing",
        "expected a mapping (key: value), got a list",
    ),
    (
        "params-list",
        judge("params: [1]"),
        "judges[0].params",
        "expected a mapping (key: value), got a list",
    ),
    (
        "name-number",
        judge("family: 5"),
        "judges[0].family",
        "expected a string, got 5 (a number); quote it",
    ),
    (
        "name-boolean",
        "judges: [{name: yes, model: m}]\n" + PANELS,
        "judges[0].name",
        "got true (a boolean); YAML reads yes/no",
    ),
    (
        "name-date",
        "judges: [{name: 2024-01-01, model: m}]\n" + PANELS,
        "judges[0].name",
        "(a date); YAML reads it as a date: quote it",
    ),
    (
        "panel-judge-null",
        panel("").replace("[a, b]", "[a, ~]"),
        "panels[0].judges[1]",
        "expected a string, got null",
    ),
    ("key-number", judge("1: x"), "judges[0]", "key 1 is a number, not text: quote it"),
    ("key-null", GOOD + "~: 1\n", "", "a key is null: give it a name"),
    # a name that does not match its pattern shows what was given
    (
        "pattern-shows-value",
        judge("").replace("name: a,", "name: 'a b',").replace("[a, b]", "['a b', b]"),
        "judges[0].name",
        "got 'a b'",
    ),
    (
        "pattern-empty",
        panel("").replace("name: p,", "name: '',"),
        "panels[0].name",
        "got '' (empty)",
    ),
    # true/false read as numbers (pydantic takes true for 1)
    (
        "quorum-true",
        panel("quorum: true"),
        "panels[0].quorum",
        "expected a number, got true (a boolean)",
    ),
    (
        "deadline-true",
        panel("deadline_s: true"),
        "panels[0].deadline_s",
        "expected a number, got true",
    ),
    (
        "audit-rate-true",
        panel("routing: {audit_rate: true}"),
        "panels[0].routing.audit_rate",
        "expected a number, got true",
    ),
    ("weight-true", judge("weight: true"), "judges[0].weight", "expected a number, got true"),
    (
        "criterion-weight-true",
        GOOD + "profiles: [{name: x, criteria: [{panel: p, weight: true}]}]\n",
        "profiles[0].criteria[0].weight",
        "expected a number",
    ),
    (
        "governance-true",
        GOOD + "governance: {baseline_items: true}\n",
        "governance.baseline_items",
        "expected a number, got true",
    ),
    (
        "policy-true",
        GOOD + PROFILE + "policies: [{name: q, action: quarantine, profile: x, below: true}]\n",
        "policies[0].below",
        "expected a number, got true",
    ),
    # NaN is not "should be less than or equal to 600"; a huge number is not a page of digits
    (
        "deadline-nan",
        panel("deadline_s: .nan"),
        "panels[0].deadline_s",
        "expected a number, got nan (not a finite number)",
    ),
    (
        "timeout-nan",
        judge("timeout_s: .nan"),
        "judges[0].timeout_s",
        "expected a number, got nan",
    ),
    (
        "governance-shift-nan",
        GOOD + "governance: {shift: .nan}\n",
        "governance.shift",
        "expected a number, got nan",
    ),
    (
        "min-agreement-nan",
        panel("routing: {min_agreement: .nan}"),
        "panels[0].routing.min_agreement",
        "expected a number, got nan",
    ),
    (
        "quorum-huge",
        panel("quorum: " + "9" * 400),
        "panels[0]",
        "quorum 999999999999... (400 digits) exceeds the 2 judges",
    ),
    # a key of the user's that is named like a model class stays in the path (pydantic's
    # union-member tags are class names too: only those are left out)
    (
        "weights-key-named-like-a-model",
        GOOD + "profiles: [{use: quality, judges: [a], weights: {Rubric: 0}}]\n",
        "profiles[0].weights.Rubric",
        "greater than 0",
    ),
    (
        "thresholds-key-named-like-a-model",
        judge("type: embedding, thresholds: {JudgeConfig: hot}"),
        "judges[0].thresholds.JudgeConfig",
        "valid number",
    ),
    # judge values no provider call can use
    ("weight-huge", judge("weight: 1e308"), "judges[0].weight", "1e+308 is over 1000"),
    (
        "model-blank",
        judge("").replace("model: openai/x", "model: '   '"),
        "judges[0].model",
        "blank",
    ),
    (
        "model-control",
        judge("").replace("model: openai/x", 'model: "openai/x\\n"'),
        "judges[0].model",
        "no spaces or control characters",
    ),
    ("api-base-no-host", judge("api_base: 'http://'"), "judges[0].api_base", "no host"),
    ("api-base-space", judge("api_base: 'http://a b'"), "judges[0].api_base", "no spaces"),
    (
        "api-base-port",
        judge("api_base: 'http://localhost:99999'"),
        "judges[0].api_base",
        "Port out of range",
    ),
    (
        "temperature-negative",
        judge("params: {temperature: -5}"),
        "judges[0].params.temperature",
        "-5 is not a number from 0 to 2",
    ),
    (
        "temperature-nan",
        judge("params: {temperature: .nan}"),
        "judges[0].params.temperature",
        "nan is not a finite number",
    ),
    (
        "temperature-huge",
        judge("params: {temperature: 1.0e+308}"),
        "judges[0].params.temperature",
        "not a number from 0 to 2",
    ),
    (
        "temperature-text",
        judge("params: {temperature: hot}"),
        "judges[0].params.temperature",
        "expected a number, got 'hot'",
    ),
    (
        "temperature-exponent-read-as-text",
        judge("params: {temperature: 1e0}"),
        "judges[0].params.temperature",
        "got '1e0' (a string); YAML reads 1e5 as text: write 1.0e+5",
    ),
    (
        "temperature-true",
        judge("params: {temperature: true}"),
        "judges[0].params.temperature",
        "expected a number, got true",
    ),
    (
        "max-tokens-zero",
        judge("params: {max_tokens: 0}"),
        "judges[0].params.max_tokens",
        "0 is not an integer from 1",
    ),
    (
        "max-tokens-huge",
        judge("params: {max_tokens: 1000000000000000000000}"),
        "judges[0].params.max_tokens",
        "not an integer from 1 to 1000000",
    ),
    (
        "max-tokens-fraction",
        judge("params: {max_tokens: 1.5}"),
        "judges[0].params.max_tokens",
        "expected an integer, got 1.5",
    ),
    (
        "seed-date",
        judge("params: {seed: 2024-01-01}"),
        "judges[0].params.seed",
        "is not a JSON value",
    ),
    (
        "params-nested-nan",
        judge("params: {extra_body: {x: [.inf]}}"),
        "judges[0].params.extra_body",
        "inf is not a finite number",
    ),
    # rubric directories are named by index, and say what is wrong with them
    ("rubric-dir-empty", GOOD + "rubric_dirs: ['']\n", "rubric_dirs[0]", "empty"),
    (
        "rubric-dir-own",
        GOOD + "rubric_dirs: [.]\n",
        "rubric_dirs[0]",
        "the config file's own directory",
    ),
    (
        "rubric-dir-missing",
        GOOD + "rubric_dirs: [nope]\n",
        "rubric_dirs[0]",
        "'nope': no such directory",
    ),
    # YAML that PyYAML builds without complaint, but nobody means
    (
        "duplicate-key",
        GOOD + "panels: []\n",
        "panels",
        "key 'panels' given twice in one mapping (lines 2 and 3)",
    ),
    ("duplicate-key-flow", judge("model: openai/z"), "judges[0].model", "key 'model' given twice"),
    (
        "duplicate-key-after-merge",
        "judges:\n  - &j {name: a, model: m}\n  - <<: *j\n    name: b\n    name: c\n" + PANELS,
        "judges[1].name",
        "given twice",
    ),
    (
        "recursive-alias",
        "judges: &r [*r]\n",
        "judges[0]",
        "an alias refers to the value that holds it",
    ),
    (
        "recursive-alias-in-params",
        "judges:\n  - &j {name: a, model: m, params: {self: *j}}\n" + PANELS,
        "judges[0].params.self",
        "an alias refers to the value",
    ),
    (
        "alias-bomb",
        judge(f"params: {{{bomb(9)}}}"),
        "judges[0].params.l5",
        "aliases expand to more than 1,000,000 values (an alias bomb?)",
    ),
    (
        "nested-65-deep",
        judge("params: {x: " + "[" * 70 + "]" * 70 + "}"),
        "judges[0].params.x[0][0]...",
        "nested too deeply (more than 64 levels)",
    ),
    (
        "binary-tag",
        judge("").replace("model: openai/x", "model: !!binary aGVsbG8="),
        "judges[0].model",
        "!!binary values are not text",
    ),
    ("set-tag", "judges: !!set {a, b}\n" + PANELS, "judges", "!!set values are not text"),
    ("control-character", GOOD + "# \x01\n", "line 3", "character 0x0001 is not allowed (offset"),
    (
        "nul-character",
        GOOD.replace("openai/x", "openai/x\x00"),
        "line 1",
        "character 0x0000 is not allowed",
    ),
    ("family-empty", judge('family: ""'), "judges[0].family", "empty: give a value"),
    ("family-huge", judge("family: " + "f" * 65), "judges[0].family", "at most 64 characters"),
    (
        "description-huge",
        panel("description: " + "d" * 4001),
        "panels[0].description",
        "at most 4000 characters",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_malformed_config_is_one_line_naming_file_key_and_problem(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    message = problem(tmp_path, text)
    where = f"{tmp_path / 'quorum.yaml'}: {key}: " if key else f"{tmp_path / 'quorum.yaml'}: "
    assert message.startswith(where), message
    assert words in message, message


RUBRIC = {
    "id": "r",
    "version": 1,
    "description": "A test rubric.",
    "mode": "pointwise",
    "scale": [1, 2],
    "criteria": "Judge it.",
}


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"criteria": "   "}, "criteria", "blank"),
        ({"description": " \n"}, "description", "blank"),
        ({"criteria": None}, "criteria", "expected a string, got null"),
        ({"scale": None}, "scale", "expected a list, got null"),
        ({"scale": [1.5, 2.5]}, "scale[0]", "expected a boolean, an integer or a string, got 1.5"),
        (
            {"compliant": {"min": 1.5}},
            "compliant.min",
            "expected a boolean, an integer or a string",
        ),
        ({"compliant": [1]}, "compliant", "expected a mapping (key: value), got a list"),
        ({"version": 2**31}, "version", "less than or equal to 2147483647"),
        ({"criteria": ""}, "criteria", "empty"),
        ({"compliant": {}}, "compliant.min", "Field required"),
        ({"anchors": {"Rubric": 5}}, "anchors.Rubric", "expected a string, got 5 (a number)"),
        ({"anchors": {"CompliantMin": 5}}, "anchors.CompliantMin", "expected a string, got 5"),
        ({"anchors": {1: 5}}, "anchors.1", "expected a string, got 5 (a number)"),
    ],
    ids=[
        "blank-criteria",
        "blank-description",
        "null-criteria",
        "null-scale",
        "float-scale",
        "float-compliant-min",
        "compliant-list",
        "version-over-int32",
        "empty-criteria",
        "compliant-empty",
        "anchor-key-named-like-a-model",
        "anchor-key-named-like-a-union-member",
        "anchor-key-a-number",
    ],
)
def test_a_malformed_rubric_names_the_rubric_file_and_its_key(
    tmp_path: Path, change: dict[str, object], key: str, words: str
) -> None:
    (tmp_path / "rubrics").mkdir()
    rubric = tmp_path / "rubrics" / "r.yaml"
    rubric.write_text(yaml.safe_dump({**RUBRIC, **change}))
    message = problem(tmp_path, GOOD.replace("helpfulness", "r") + "rubric_dirs: [rubrics]\n")
    assert f": rubric_dirs[0]: {rubric}: {key}: " in message, message
    assert words in message, message


def test_a_rubric_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rubrics").mkdir()
    text = yaml.safe_dump(RUBRIC, sort_keys=False) + "criteria: Judge it again.\n"
    (tmp_path / "rubrics" / "r.yaml").write_text(text)
    message = problem(tmp_path, GOOD.replace("helpfulness", "r") + "rubric_dirs: [rubrics]\n")
    assert "r.yaml: criteria: invalid YAML: key 'criteria' given twice" in message


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """Ten levels of ten aliases are 10^10 values once expanded: PyYAML builds them as
    shared references, but validation (and any JSON encoding) walks every one."""
    started = time.monotonic()
    message = problem(tmp_path, judge(f"params: {{{bomb(10)}}}"))
    assert "alias bomb" in message
    assert time.monotonic() - started < 5


def test_aliases_and_merge_keys_within_bounds_still_load(tmp_path: Path) -> None:
    text = (
        "judges:\n  - &d {name: a, model: openai/x, params: {temperature: 0}}\n"
        "  - {<<: *d, name: b, model: openai/y}\n" + PANELS
    )
    config = load_config(write(tmp_path, text))
    assert config.judges["b"].params == {"temperature": 0}
    assert config.judges["b"].model == "openai/y"
    assert config.warnings == ()


# --- a judge in no panel: a warning, not an error


def test_a_judge_in_no_panel_is_a_warning_that_does_not_stop_loading(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = GOOD.replace("]\npanels", ", {name: typo, model: openai/z}]\npanels")
    with caplog.at_level(logging.WARNING, logger="quorum.config"):
        config = load_config(write(tmp_path, text))
    said = f"{tmp_path / 'quorum.yaml'}: judges[2]: judge 'typo' is in no panel"
    assert set(config.judges) == {"a", "b", "typo"}
    assert [w for w in config.warnings if "in no panel" in w] == [
        said + " (a typo in a panel's judges?)"
    ]
    assert [r.getMessage() for r in caplog.records if "in no panel" in r.getMessage()] == [
        said + " (a typo in a panel's judges?)"
    ]


def test_a_judge_only_in_a_panel_built_for_a_profile_is_in_a_panel(tmp_path: Path) -> None:
    text = (
        "judges: [{name: a, model: openai/x}, {name: b, model: openai/y}, {name: c, model: m}]\n"
        + PANELS
        + "profiles: [{use: security, judges: [a, c]}]\n"
    )
    config = load_config(write(tmp_path, text))
    assert not [w for w in config.warnings if "in no panel" in w], config.warnings


def test_a_judge_of_a_profile_whose_criteria_are_all_bound_is_in_no_panel(
    tmp_path: Path,
) -> None:
    """Judges given to a profile build only the panels its bound criteria lack."""
    from api.profiles import load_shipped

    shipped = load_shipped()["quality"]
    judges = (
        "judges: [{name: a, model: openai/x}, {name: b, model: openai/y}, {name: c, model: m}]\n"
    )
    panels = "panels:\n" + "".join(
        f"  - {{name: q{i}, rubric: {c.rubric}, judges: [a, b]}}\n"
        for i, c in enumerate(shipped.criteria)
    )
    bound = ", ".join(f"{c.rubric}: q{i}" for i, c in enumerate(shipped.criteria))
    text = judges + panels + f"profiles: [{{use: quality, judges: [c], panels: {{{bound}}}}}]\n"
    config = load_config(write(tmp_path, text))
    assert [w for w in config.warnings if "in no panel" in w] == [
        f"{tmp_path / 'quorum.yaml'}: judges[2]: judge 'c' is in no panel "
        "(a typo in a panel's judges?)"
    ]


def test_a_problem_of_a_panel_built_for_a_profile_names_the_profile(tmp_path: Path) -> None:
    text = (
        JUDGES.replace("]\n", ", {name: pii, type: pattern}]\n")
        + PANELS
        + "profiles: [{use: quality, judges: [a, pii]}]\n"
    )
    message = problem(tmp_path, text)
    assert ": profiles[0].judges[1]: judge 'pii': a pattern juror" in message, message


# --- the command's output


def test_check_config_prints_ok_on_stdout_and_each_warning_on_stderr(tmp_path: Path) -> None:
    text = GOOD.replace("]\npanels", ", {name: c, model: m}, {name: d, model: m}]\npanels")
    path = write(tmp_path, text)
    proc = quorum_cli("check-config", "--config", path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        f"{path}: ok: 4 judge(s), 1 panel(s), 21 rubric(s), 0 profile(s)"
    )
    warned = [line for line in proc.stderr.splitlines() if "in no panel" in line]
    assert len(warned) == 2, proc.stderr
    for i, name in ((2, "c"), (3, "d")):
        assert any(f"{path}: judges[{i}]: judge {name!r} is in no panel" in w for w in warned)
    assert "Traceback" not in proc.stderr

    bad = write(tmp_path, JUDGES + "panels: []\n")
    proc = quorum_cli("check-config", "--config", bad, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"quorum: config error: {bad}: panels: no panels: list at least one (or a profile)"
    )


def test_a_config_file_whose_name_holds_a_newline_is_still_one_line(tmp_path: Path) -> None:
    path = tmp_path / "quorum\n.yaml"
    path.write_text(JUDGES, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "\n" not in str(info.value) and "quorum\\n.yaml: panels: " in str(info.value)
