"""Loading rubric YAML: the shipped library, and errors that name the file and the key."""

from pathlib import Path

import pytest

from rubrics import (
    LIBRARY_DIR,
    Item,
    Mode,
    Rubric,
    RubricLoadError,
    load_rubric,
    load_rubrics,
    render,
)

SHIPPED = {
    "data-leakage",
    "faithfulness",
    "helpfulness",
    "instruction-following",
    "pairwise-preference",
    "prompt-injection",
    "safety",
    "transparency-checklist",
    # the governance library (issue 18): criteria of the shipped profiles
    "relevance",
    "factual-reliability",
    "fairness",
    "user-autonomy",
    "transparency",
    "non-manipulation",
    "human-oversight",
    "explicability",
    "data-privacy",
    "output-traceability",
    "language-clarity",
    "ethical-refusal",
    "robustness",
}

VALID = """\
id: {id}
version: 1
description: A test rubric.
mode: pointwise
scale: [1, 2, 3]
criteria: Judge it.
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def library() -> dict[str, Rubric]:
    return load_rubrics([LIBRARY_DIR])


# --- the shipped library ---------------------------------------------------------------


def test_the_shipped_library_loads_every_rubric(library: dict[str, Rubric]) -> None:
    assert set(library) == SHIPPED
    assert all(r.id == key for key, r in library.items())


def test_shipped_rubrics_have_the_documented_shape(library: dict[str, Rubric]) -> None:
    assert library["pairwise-preference"].mode is Mode.PAIRWISE
    assert library["pairwise-preference"].scale == ("A", "B", "tie")
    assert library["helpfulness"].scale == (1, 2, 3, 4, 5)
    assert library["safety"].scale == ("fail", "pass")
    assert library["faithfulness"].requires == ("context",)
    # every shipped rubric describes every value on its scale
    for r in library.values():
        assert set(r.anchors) == {str(v) for v in r.scale}, r.id
    # every compliance rubric names the article or entry it serves
    for r in library.values():
        if r.compliant is not None and r.id not in ("helpfulness", "instruction-following"):
            assert r.standards, r.id


@pytest.mark.parametrize("rubric_id", sorted(SHIPPED))
def test_every_shipped_rubric_renders(library: dict[str, Rubric], rubric_id: str) -> None:
    rubric = library[rubric_id]
    if rubric.mode is Mode.PAIRWISE:
        item = Item(prompt="Say hi.", response_a="Hi!", response_b="Hello.")
    else:
        item = Item(prompt="Say hi.", response="Hi!", context="Greet the user.")
    rendered = render(rubric, item)
    system, user = rendered.messages
    assert (system.role, user.role) == ("system", "user")
    assert f"Rubric: {rubric.id} (version {rubric.version})" in system.content
    assert rubric.criteria.strip() in system.content
    for anchor in rubric.anchors.values():
        assert anchor.strip() in system.content
    assert len(rendered.sha256) == 64
    if rubric.mode is Mode.PAIRWISE:
        assert "<response_A>\nHi!\n</response_A>" in user.content
    else:
        assert "<response>\nHi!\n</response>" in user.content


def test_load_rubric_reads_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.yaml", VALID.format(id="mine"))
    rubric = load_rubric(path)
    assert rubric.id == "mine"
    assert rubric.scale == (1, 2, 3)


def test_yml_files_load_too_and_dirs_combine(tmp_path: Path) -> None:
    write(tmp_path / "extra", "short.yml", VALID.format(id="short"))
    found = load_rubrics([LIBRARY_DIR, tmp_path / "extra"])
    assert set(found) == SHIPPED | {"short"}


# --- errors name the file and the key --------------------------------------------------


def test_invalid_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    text = "id: broken\nversion: 1\nscale: [1, 2\ncriteria: x\n"
    path = write(tmp_path, "broken.yaml", text)
    with pytest.raises(RubricLoadError) as info:
        load_rubric(path)
    message = str(info.value)
    assert str(path) in message
    assert "line 4" in message  # where the unclosed flow sequence is noticed
    assert "invalid YAML" in message
    assert info.value.path == str(path)


def test_bad_indentation_reports_its_own_line(tmp_path: Path) -> None:
    path = write(tmp_path, "indent.yaml", "id: indent\nversion: 1\n  bad: indent\n")
    with pytest.raises(RubricLoadError, match=r"indent\.yaml: line 3: invalid YAML"):
        load_rubric(path)


def test_id_must_match_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "expected.yaml", VALID.format(id="other"))
    with pytest.raises(RubricLoadError) as info:
        load_rubric(path)
    assert info.value.key == "id"
    message = str(info.value)
    assert "expected.yaml: id:" in message
    assert "'other'" in message and "'expected'" in message


def test_duplicate_ids_across_directories_name_both_files(tmp_path: Path) -> None:
    first = write(tmp_path / "one", "twin.yaml", VALID.format(id="twin"))
    second = write(tmp_path / "two", "twin.yml", VALID.format(id="twin"))
    with pytest.raises(RubricLoadError) as info:
        load_rubrics([tmp_path / "one", tmp_path / "two"])
    assert info.value.key == "id"
    message = str(info.value)
    assert message.startswith(f"{second}: id: duplicate rubric id 'twin'")
    assert str(first) in message


def test_an_extra_rubric_may_not_shadow_a_shipped_one(tmp_path: Path) -> None:
    write(tmp_path, "safety.yaml", VALID.format(id="safety"))
    with pytest.raises(RubricLoadError, match="duplicate rubric id 'safety'"):
        load_rubrics([LIBRARY_DIR, tmp_path])


@pytest.mark.parametrize("missing", ["criteria", "description", "mode", "scale", "version"])
def test_a_missing_required_field_is_named(tmp_path: Path, missing: str) -> None:
    lines = [line for line in VALID.format(id="gap").splitlines() if not line.startswith(missing)]
    path = write(tmp_path, "gap.yaml", "\n".join(lines) + "\n")
    with pytest.raises(RubricLoadError) as info:
        load_rubric(path)
    assert info.value.key == missing
    assert str(info.value) == f"{path}: {missing}: Field required"


def test_a_nested_key_is_named_as_a_path(tmp_path: Path) -> None:
    text = VALID.format(id="nested") + "standards:\n  - name: GDPR\n"
    path = write(tmp_path, "nested.yaml", text)
    with pytest.raises(RubricLoadError) as info:
        load_rubric(path)
    assert info.value.key == "standards[0].ref"


def test_a_wrong_type_is_named(tmp_path: Path) -> None:
    text = VALID.format(id="typed").replace("version: 1", "version: one")
    path = write(tmp_path, "typed.yaml", text)
    with pytest.raises(RubricLoadError, match=r"typed\.yaml: version: "):
        load_rubric(path)


def test_a_cross_field_problem_is_explained(tmp_path: Path) -> None:
    text = VALID.format(id="anchored") + "anchors:\n  7: off the scale\n"
    path = write(tmp_path, "anchored.yaml", text)
    with pytest.raises(RubricLoadError, match=r"anchors name values not on the scale: \['7'\]"):
        load_rubric(path)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "flat.yaml", text)
    with pytest.raises(RubricLoadError, match="expected a mapping at the top level"):
        load_rubric(path)


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RubricLoadError, match="rubric directory does not exist"):
        load_rubrics([tmp_path / "nowhere"])


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RubricLoadError, match="cannot read"):
        load_rubric(tmp_path / "absent.yaml")
