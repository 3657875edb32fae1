"""The vote cache key: what makes two judge calls the same call."""

from __future__ import annotations

from typing import Any

from judges import JudgeConfig, cache_key

PROMPT = "a" * 64


def judge(name: str = "j", model: str = "openai/m", **kw: Any) -> JudgeConfig:
    return JudgeConfig(name=name, model=model, **kw)


def test_same_judge_same_prompt_same_key() -> None:
    assert cache_key(judge(), PROMPT) == cache_key(judge(), PROMPT)


def test_anything_that_changes_the_answer_changes_the_key() -> None:
    base = cache_key(judge(), PROMPT)
    others = [
        cache_key(judge(), "b" * 64),  # another prompt (rubric version, texts, order)
        cache_key(judge(model="openai/other"), PROMPT),
        cache_key(judge(api_base="http://127.0.0.1:1/v1"), PROMPT),
        cache_key(judge(params={"temperature": 0.7}), PROMPT),
        cache_key(judge(json_mode=False), PROMPT),
        cache_key(judge(logprobs=True), PROMPT),
    ]
    assert len({base, *others}) == len(others) + 1


def test_two_judges_of_one_model_do_not_share_answers() -> None:
    # A panel of three judges on one model makes three calls: with a shared key, which
    # of them answered from the cache would depend on which finished first.
    assert cache_key(judge("honest-1"), PROMPT) != cache_key(judge("honest-2"), PROMPT)
