"""Config validation: every problem stops start-up with one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api.config import load_config
from api.errors import ConfigError
from tests.support import quorum_cli

GOOD = {
    "judges": [
        {"name": "a", "model": "openai/x", "family": "f1"},
        {"name": "b", "model": "openai/y", "family": "f2"},
    ],
    "panels": [{"name": "p", "rubric": "helpfulness", "judges": ["a", "b"]}],
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "quorum.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def problem(tmp_path: Path, data: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "quorum.yaml"))
    return message


def test_good_config_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert set(config.judges) == {"a", "b"}
    assert config.panels["p"].effective_quorum == 2  # strict majority of 2
    assert "helpfulness" in config.rubrics


def test_straggler_grace_defaults_to_automatic(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD)).panels["p"].straggler_grace_s is None
    with_grace = {**GOOD, "panels": [{**GOOD["panels"][0], "straggler_grace_s": 2.5}]}  # type: ignore[dict-item]
    assert load_config(write(tmp_path, with_grace)).panels["p"].straggler_grace_s == 2.5


def test_shipped_example_is_valid() -> None:
    config = load_config(Path(__file__).parents[2] / "quorum.example.yaml")
    assert len(config.panels) >= 3


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [
        (
            lambda c: c["panels"][0].update(judges=["a", "zz"]),
            "panels[0].judges[1]",
            "unknown judge 'zz'",
        ),
        (
            lambda c: c["panels"][0].update(rubric="nope"),
            "panels[0].rubric",
            "unknown rubric 'nope'",
        ),
        (
            lambda c: c["judges"].append({"name": "a", "model": "m"}),
            "judges[2].name",
            "duplicate judge",
        ),
        (lambda c: c["panels"].append(dict(c["panels"][0])), "panels[1].name", "duplicate panel"),
        (lambda c: c["judges"][0].update(colour="red"), "judges[0].colour", "Extra inputs"),
        (lambda c: c["judges"][0].update(timeout_s=-1), "judges[0].timeout_s", "greater than 0"),
        (
            lambda c: c["judges"][0].update(params={"api_key": "x"}),
            "judges[0].params",
            "may not set",
        ),
        (lambda c: c["judges"][0].update(api_base="ftp://x"), "judges[0].api_base", "http"),
        (lambda c: c["panels"][0].update(quorum=3), "panels[0]", "quorum 3 exceeds"),
        (lambda c: c["panels"][0].update(aggregation="vote"), "panels[0].aggregation", "majority"),
        (
            lambda c: c["panels"][0].update(rubric="safety", aggregation="mean"),
            "panels[0].aggregation",
            "mean needs a numeric scale",
        ),
        (lambda c: c["panels"][0]["judges"].append("a"), "panels[0].judges", "listed twice"),
        (
            lambda c: c["panels"][0].update(routing={"min_agreement": 2}),
            "panels[0].routing.min_agreement",
            "less than or equal to 1",
        ),
        (lambda c: c.pop("panels"), "panels", "Field required"),
        (
            lambda c: c["judges"][0].update(weight=float("inf")),
            "judges[0].weight",
            "finite number",
        ),
        (
            lambda c: c["panels"][0].update(strategy="sequential", wave_size=3),
            "panels[0]",
            "wave_size 3 exceeds the 2 judges",
        ),
        (
            lambda c: c["panels"][0].update(straggler_grace_s=-1),
            "panels[0].straggler_grace_s",
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_config_names_file_key_and_problem(
    tmp_path: Path, mutate: object, key: str, words: str
) -> None:
    import copy

    data = copy.deepcopy(GOOD)
    mutate(data)  # type: ignore[operator]
    message = problem(tmp_path, data)
    assert f": {key}: " in message, message
    assert words in message, message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    message = problem(tmp_path, "judges:\n  - name: a\n   model: [unclosed\n")
    assert "line" in message and "invalid YAML" in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("judges: " + "[" * 5000 + "]" * 5000 + "\npanels: []\n", "nested too deeply"),
        ("judges: []\npanels: []\nx: " + "9" * 5000 + "\n", "a number of more than 4300 digits"),
    ],
    ids=["deep", "huge-number"],
)
def test_yaml_the_parser_cannot_build_is_one_line(tmp_path: Path, text: str, words: str) -> None:
    assert words in problem(tmp_path, text)


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "quorum.yaml"
    path.write_bytes("judges: []\npanels: []\n# caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: not UTF-8 text: byte 0xe9 at offset 27"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")


def test_a_symlink_loop_is_one_line_from_the_command(tmp_path: Path) -> None:
    """It was a RuntimeError traceback (the command resolved the path before reading)."""
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    proc = quorum_cli("check-config", "--config", tmp_path / "a.yaml", timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    loop = tmp_path / "a.yaml"
    said = f"quorum: config error: {loop}: cannot read: Too many levels of symbolic links"
    assert proc.stderr.strip() == said
    (tmp_path / "c.yaml").symlink_to(tmp_path / "nowhere.yaml")
    with pytest.raises(ConfigError, match="cannot read: No such file or directory"):
        load_config(tmp_path / "c.yaml")


def test_a_named_pipe_without_a_writer_does_not_hang(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer: start-up hung for ever."""
    import os

    fifo = tmp_path / "quorum.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="expected a mapping with 'judges' and 'panels'"):
        load_config(fifo)

    # A pipe with something in it, as `--config <(envsubst < quorum.yaml)` gives, is read.
    read_end, write_end = os.pipe()
    os.write(write_end, yaml.safe_dump(GOOD).encode())
    os.close(write_end)
    try:
        assert set(load_config(Path(f"/dev/fd/{read_end}")).panels) == {"p"}
    finally:
        os.close(read_end)


def test_bad_rubric_dir_is_reported(tmp_path: Path) -> None:
    extra = tmp_path / "mine"
    extra.mkdir()
    (extra / "helpfulness.yaml").write_text(
        (Path(__file__).parents[2] / "rubrics/library/helpfulness.yaml").read_text()
    )
    message = problem(tmp_path, {**GOOD, "rubric_dirs": ["mine"]})
    assert "duplicate rubric id 'helpfulness'" in message


def test_cli_check_config_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, {**GOOD, "panels": [{"name": "p", "rubric": "x", "judges": ["a"]}]})
    for command in ("check-config", "serve"):
        proc = quorum_cli(command, "--config", path, timeout=60)
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines()[-1].startswith("quorum: config error: ")
        assert "panels[0].rubric: unknown rubric 'x'" in proc.stderr
