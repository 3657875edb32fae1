"""The governance corpus `quorum qualify` ships, and the corpus loader's one-line errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from rubrics import (
    GOVERNANCE_CORPUS,
    LIBRARY_DIR,
    Category,
    CorpusLoadError,
    load_corpus,
    load_rubrics,
    select,
)
from rubrics.loader import PROFILES_DIR

LIBRARY = load_rubrics([LIBRARY_DIR])
CORPUS = load_corpus(GOVERNANCE_CORPUS, LIBRARY)
GOVERNANCE_PROFILES = ("security", "ai-act", "data-protection")


def profile_rubrics(name: str) -> set[str]:
    data = yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text())
    return {c["rubric"] for c in data["criteria"]}


def test_the_shipped_corpus_has_at_least_40_prompts_over_the_five_categories() -> None:
    assert len(CORPUS.prompts) >= 40
    per_category = Counter(p.category for p in CORPUS.prompts)
    assert set(per_category) == set(Category)
    assert min(per_category.values()) >= 8, per_category


@pytest.mark.parametrize("profile", GOVERNANCE_PROFILES)
def test_every_criterion_of_the_governance_profiles_is_tested_by_several_prompts(
    profile: str,
) -> None:
    tested = Counter(c for p in CORPUS.prompts for c in p.criteria)
    for rubric in profile_rubrics(profile):
        assert tested[rubric] >= 3, f"{profile}: {rubric} is tested by {tested[rubric]} prompt(s)"


def test_prompts_are_distinct_and_say_what_a_compliant_answer_does() -> None:
    assert len({p.prompt for p in CORPUS.prompts}) == len(CORPUS.prompts)
    assert all(len(p.expected) > 30 for p in CORPUS.prompts)
    # some run under a deployer's system prompt, some with retrieved context or tool output
    assert sum(p.system is not None for p in CORPUS.prompts) >= 15
    assert sum(p.context is not None for p in CORPUS.prompts) >= 5


def test_the_candidate_is_sent_the_system_prompt_then_the_context_and_the_prompt() -> None:
    rag = next(p for p in CORPUS.prompts if p.id == "sec-rag-phishing-link")
    system, user = rag.messages()
    assert system == {"role": "system", "content": rag.system}
    assert user["role"] == "user"
    assert user["content"] == f"{rag.context}\n\n{rag.prompt}"
    bare = next(p for p in CORPUS.prompts if p.system is None and p.context is None)
    assert bare.messages() == ({"role": "user", "content": bare.prompt},)


def test_select_takes_the_prompts_that_test_the_criteria() -> None:
    security = profile_rubrics("security")
    chosen = select(CORPUS, security)
    assert chosen and all(security.intersection(p.criteria) for p in chosen)
    assert len(chosen) == sum(bool(security.intersection(p.criteria)) for p in CORPUS.prompts)
    assert select(CORPUS, ["no-such-rubric"]) == ()


def test_a_short_selection_still_covers_every_category_in_corpus_order() -> None:
    everything = CORPUS.criteria()
    five = select(CORPUS, everything, n=5)
    assert len(five) == 5
    assert {p.category for p in five} == set(Category)
    order = [p.id for p in CORPUS.prompts]
    assert [p.id for p in five] == sorted((p.id for p in five), key=order.index)
    assert len(select(CORPUS, everything, n=12)) == 12
    assert select(CORPUS, everything, n=10_000) == select(CORPUS, everything)
    with pytest.raises(ValueError, match="at least 1"):
        select(CORPUS, everything, n=0)


GOOD = {
    "name": "mini",
    "version": 1,
    "prompts": [
        {
            "id": "p1",
            "category": "security",
            "criteria": ["safety"],
            "prompt": "Hi",
            "expected": "A polite answer.",
        }
    ],
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "corpus.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def with_prompt(**change: object) -> dict[str, object]:
    prompt = {**GOOD["prompts"][0], **change}  # type: ignore[index]
    return {**GOOD, "prompts": [prompt]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("prompts: [unclosed", "line 1: invalid YAML"),
        ("- a list", "expected a mapping at the top level"),
        ({**GOOD, "prompts": []}, "prompts: Tuple should have at least 1 item"),
        (with_prompt(category="fairness"), "prompts[0].category: Input should be"),
        (with_prompt(criteria=[]), "prompts[0].criteria: Tuple should have at least 1 item"),
        (with_prompt(criteria=["safety", "safety"]), "criteria listed twice: safety"),
        (with_prompt(criteria=["Not An Id"]), "prompts[0].criteria[0]: String should match"),
        (with_prompt(expected=" "), "prompts[0].expected: String should have at least 1"),
        (with_prompt(answer="x"), "prompts[0].answer: Extra inputs are not permitted"),
        ({**GOOD, "prompts": GOOD["prompts"] * 2}, "prompts: duplicate prompt id 'p1'"),
        (with_prompt(criteria=["safety", "honesty"]), "prompts[0].criteria[1]: unknown rubric"),
    ],
)
def test_a_bad_corpus_is_refused_in_one_line_naming_file_and_key(
    tmp_path: Path, data: object, message: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(CorpusLoadError) as caught:
        load_corpus(path, LIBRARY)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text, text
    assert "\n" not in text


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CorpusLoadError, match=r"nope\.yaml: cannot read"):
        load_corpus(tmp_path / "nope.yaml")


def test_without_the_rubrics_any_criterion_id_is_accepted(tmp_path: Path) -> None:
    corpus = load_corpus(write(tmp_path, with_prompt(criteria=["house-rule"])))
    assert corpus.criteria() == {"house-rule"}
