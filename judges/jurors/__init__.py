"""Jurors beyond LLMs: judges of `type` `pattern` or `embedding` (docs/jurors.md).

`build` makes the juror a judge config names; `check` says, at config load, why a juror
cannot sit on a panel of a given rubric. The runner routes a juror's calls here, never
to litellm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from judges.jurors.base import Finding, Juror
from judges.jurors.embedding import EmbeddingJuror, check_thresholds, missing_extra
from judges.jurors.pattern import SETS, PatternJuror, check_rubric
from rubrics import Mode, Rubric

if TYPE_CHECKING:
    from judges.config import JudgeConfig

__all__ = ["SETS", "EmbeddingJuror", "Finding", "Juror", "PatternJuror", "build", "check"]


def build(judge: JudgeConfig) -> Juror:
    """The juror of a non-LLM judge config."""
    if judge.type == "pattern":
        return PatternJuror(judge.sets)
    if judge.type == "embedding":
        return EmbeddingJuror(judge.thresholds or {}, judge.model)
    raise ValueError(f"judge {judge.name!r} is an LLM judge, not a juror")


def check(judge: JudgeConfig, rubric: Rubric) -> str | None:
    """Why `judge` cannot sit on a panel of `rubric`, or None when it can."""
    if judge.type == "llm":
        return None
    if rubric.mode is not Mode.POINTWISE:
        return (
            f"a {judge.type} juror judges pointwise rubrics only; "
            f"{rubric.id!r} is {rubric.mode.value}"
        )
    if judge.type == "pattern":
        return check_rubric(rubric)
    return check_thresholds(rubric, judge.thresholds or {}) or missing_extra(judge.model)
