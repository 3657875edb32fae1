"""Rubric validation, compliance and normalised scores (rubrics/models.py)."""

from typing import Any

import pytest
from pydantic import ValidationError

from rubrics import PAIRWISE_SCALE, CompliantMin, CompliantValues, Mode, Rubric, value_key


def make(**overrides: Any) -> Rubric:
    """A valid 1..5 pointwise rubric, with `overrides` applied."""
    data: dict[str, Any] = {
        "id": "quality",
        "version": 1,
        "description": "How good is it?",
        "mode": "pointwise",
        "scale": [1, 2, 3, 4, 5],
        "criteria": "Judge quality.",
    }
    data.update(overrides)
    return Rubric.model_validate(data)


def pairwise(**overrides: Any) -> Rubric:
    return make(id="pref", mode="pairwise", scale=["A", "B", "tie"], **overrides)


# --- validation -----------------------------------------------------------------------


def test_a_valid_pointwise_rubric_loads_with_defaults() -> None:
    r = make()
    assert r.mode is Mode.POINTWISE
    assert r.scale == (1, 2, 3, 4, 5)
    assert r.ordinal is True
    assert r.numeric is True
    assert r.compliant is None
    assert r.key == "quality@1"


def test_pairwise_rubric_accepts_exactly_a_b_tie_and_is_not_ordinal() -> None:
    r = pairwise()
    assert r.scale == PAIRWISE_SCALE
    assert r.ordinal is False
    assert r.numeric is False


@pytest.mark.parametrize(
    "scale",
    [["A", "B"], ["B", "A", "tie"], ["A", "B", "draw"], ["a", "b", "tie"], [1, 2, 3]],
)
def test_pairwise_scale_must_be_a_b_tie(scale: list[object]) -> None:
    with pytest.raises(ValidationError, match="pairwise scale must be exactly"):
        make(id="pref", mode="pairwise", scale=scale)


@pytest.mark.parametrize(
    "scale",
    [
        [1, 2, 2],  # repeated
        ["1", 1],  # same text form: anchors and YAML keys could not tell them apart
        [True, "true"],
    ],
)
def test_scale_values_must_be_distinct_in_text_form(scale: list[object]) -> None:
    with pytest.raises(ValidationError, match="distinct"):
        make(scale=scale)


@pytest.mark.parametrize("scale", [[1.0, 2.0], [1, 2.5], [None, 1], [[1], [2]]])
def test_scale_values_are_strict_json_scalars(scale: list[object]) -> None:
    with pytest.raises(ValidationError):
        make(scale=scale)


def test_scale_needs_at_least_two_values() -> None:
    with pytest.raises(ValidationError):
        make(scale=[1])


@pytest.mark.parametrize(
    "field, value",
    [("id", "Has Spaces"), ("id", ""), ("version", 0), ("version", "1"), ("criteria", "")],
)
def test_bad_scalar_fields_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make(**{field: value})


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        make(threshold=3)


def test_anchor_keys_are_normalised_to_value_text() -> None:
    # YAML gives int keys for `1: "..."` and bool keys for `true: "..."`.
    r = make(anchors={1: "bad", 5: "good"})
    assert r.anchors == {"1": "bad", "5": "good"}
    b = make(scale=[False, True], anchors={False: "no", True: "yes"})
    assert b.anchors == {"false": "no", "true": "yes"}


@pytest.mark.parametrize("anchors", [{6: "off"}, {"five": "off"}, {0: "off", 1: "ok"}])
def test_anchor_keys_off_the_scale_are_rejected(anchors: dict[object, str]) -> None:
    with pytest.raises(ValidationError, match="anchors name values not on the scale"):
        make(anchors=anchors)


def test_pairwise_anchor_off_the_scale_is_rejected() -> None:
    with pytest.raises(ValidationError, match="anchors"):
        pairwise(anchors={"C": "neither"})


@pytest.mark.parametrize("minimum", [6, 0, "4", True])
def test_compliant_min_off_the_scale_is_rejected(minimum: object) -> None:
    with pytest.raises(ValidationError, match=r"compliant\.min"):
        make(compliant={"min": minimum})


@pytest.mark.parametrize("values", [["maybe"], ["pass", "PASS"], [1]])
def test_compliant_values_off_the_scale_are_rejected(values: list[object]) -> None:
    with pytest.raises(ValidationError, match=r"compliant\.values not on the scale"):
        make(scale=["fail", "pass"], compliant={"values": values})


def test_compliant_forms_parse_to_their_models() -> None:
    assert isinstance(make(compliant={"min": 4}).compliant, CompliantMin)
    r = make(scale=["fail", "pass"], compliant={"values": ["pass"]})
    assert isinstance(r.compliant, CompliantValues)
    with pytest.raises(ValidationError):
        make(scale=["fail", "pass"], compliant={"values": []})


# --- index: bool and int are different values -----------------------------------------


def test_index_does_not_confuse_bool_and_int() -> None:
    ints = make(scale=[1, 2])
    assert ints.index(1) == 0
    assert ints.index(2) == 1
    assert ints.index(True) is None  # True == 1 in Python, but it is not a scale value here
    assert ints.index(False) is None
    bools = make(scale=[False, True])
    assert bools.index(True) == 1
    assert bools.index(False) == 0
    assert bools.index(1) is None
    assert bools.index(0) is None


def test_index_is_exact_on_type() -> None:
    r = make()
    assert r.index(4) == 3
    assert r.index("4") is None
    assert r.index(4.0) is None
    assert r.index(None) is None
    s = make(scale=["fail", "pass"])
    assert s.index("pass") == 1
    assert s.index("Pass") is None  # parsing normalises case; the model does not


def test_a_bool_scale_is_not_numeric() -> None:
    assert make(scale=[False, True]).numeric is False
    assert make(scale=["fail", "pass"]).numeric is False


# --- compliance and normalised score ---------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(1, False), (3, False), (4, True), (5, True), (None, None), (6, None), (True, None)],
)
def test_is_compliant_with_a_minimum(value: object, expected: bool | None) -> None:
    r = make(compliant={"min": 4})
    assert r.is_compliant(value) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value, expected", [("pass", True), ("fail", False), ("PASS", None), (None, None)]
)
def test_is_compliant_with_a_value_set(value: object, expected: bool | None) -> None:
    r = make(scale=["fail", "pass"], compliant={"values": ["pass"]})
    assert r.is_compliant(value) is expected  # type: ignore[arg-type]


def test_is_compliant_value_set_need_not_be_contiguous() -> None:
    r = make(scale=["red", "amber", "green"], ordinal=False, compliant={"values": ["red", "green"]})
    assert [r.is_compliant(v) for v in r.scale] == [True, False, True]


def test_is_compliant_minimum_on_a_bool_scale() -> None:
    r = make(scale=[False, True], compliant={"min": True})
    assert r.is_compliant(True) is True
    assert r.is_compliant(False) is False
    assert r.is_compliant(1) is None


def test_is_compliant_is_undefined_without_a_compliance_rule() -> None:
    assert make().is_compliant(5) is None
    assert pairwise().is_compliant("A") is None


@pytest.mark.parametrize(
    "value, expected", [(1, 0.0), (2, 0.25), (3, 0.5), (4, 0.75), (5, 1.0), (6, None)]
)
def test_normalised_is_scale_position_in_0_1(value: int, expected: float | None) -> None:
    assert make().normalised(value) == expected


def test_normalised_on_two_point_and_off_scale_values() -> None:
    r = make(scale=["fail", "pass"])
    assert r.normalised("fail") == 0.0
    assert r.normalised("pass") == 1.0
    assert r.normalised(None) is None
    assert make(scale=[1, 2]).normalised(True) is None


def test_value_key_renders_bools_as_yaml_does() -> None:
    assert value_key(True) == "true"
    assert value_key(False) == "false"
    assert value_key(3) == "3"
    assert value_key("tie") == "tie"


def test_rubrics_are_frozen() -> None:
    r = make()
    with pytest.raises(ValidationError):
        r.version = 2  # type: ignore[misc]
