"""Agreement from vote patterns with counts equals the item-level computation."""

from __future__ import annotations

import numpy as np
import pytest

from routing import JudgeVerdict, panel_agreement, position_bias
from routing.bias import weighted_position_bias
from routing.kappa import fleiss_kappa
from routing.krippendorff import krippendorff_alpha
from routing.pattern_stats import (
    pattern_agreement,
    weighted_fleiss_kappa,
    weighted_krippendorff_alpha,
)
from rubrics import LIBRARY_DIR, load_rubrics

RUBRICS = load_rubrics([LIBRARY_DIR])


def _patterns(codes: np.ndarray, human: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (codes, human) rows and how often each occurs (NaN compared as a value)."""
    rows = np.column_stack([codes, human])
    filled = np.where(np.isnan(rows), -1, rows)
    unique, counts = np.unique(filled, axis=0, return_counts=True)
    unique = np.where(unique < 0, np.nan, unique)
    return unique[:, :-1], unique[:, -1], counts


def _votes(rng: np.random.Generator, n: int, judges: int, k: int, missing: float) -> np.ndarray:
    truth = rng.integers(0, k, n)
    noise = rng.choice([-1, 0, 0, 0, 1], size=(n, judges))
    codes = np.clip(truth[:, None] + noise, 0, k - 1).astype(float)
    codes[rng.random((n, judges)) < missing] = np.nan
    return codes


@pytest.mark.parametrize(
    ("rubric_id", "judges", "missing"),
    [("helpfulness", 3, 0.1), ("helpfulness", 2, 0.0), ("faithfulness", 4, 0.2)],
)
def test_every_figure_equals_the_item_level_computation(
    rubric_id: str, judges: int, missing: float
) -> None:
    rubric = RUBRICS[rubric_id]
    k = len(rubric.scale)
    rng = np.random.default_rng(11)
    codes = _votes(rng, 3000, judges, k, missing)
    human = np.where(rng.random(3000) < 0.3, codes[:, 0], np.nan)
    names = [f"j{i}" for i in range(judges)]
    items = panel_agreement(rubric, names, codes, human)
    patterns = pattern_agreement(rubric, names, *_patterns(codes, human))
    assert patterns.n_items == items.n_items == 3000
    assert patterns.n_human == items.n_human
    pairs = [
        (patterns.fleiss_kappa, items.fleiss_kappa),
        (patterns.krippendorff_alpha, items.krippendorff_alpha),
    ]
    for got, want in pairs:
        assert got is not None and want is not None
        assert got.value == pytest.approx(want.value, abs=1e-12)
        assert (got.n_items, got.n_raters, got.method) == (want.n_items, want.n_raters, want.method)
        # Same bootstrap distribution, other draws: the limits agree to Monte Carlo error.
        assert got.ci_low == pytest.approx(want.ci_low, abs=0.01)
        assert got.ci_high == pytest.approx(want.ci_high, abs=0.01)
    for a in names:
        for b in names:
            assert patterns.cohen_kappa[a][b] == pytest.approx(items.cohen_kappa[a][b], abs=1e-12)
        got_h, want_h = patterns.human_kappa[a], items.human_kappa[a]
        assert got_h is not None and want_h is not None
        # The Wald interval is a function of the confusion table: equal too.
        assert got_h.model_dump() == pytest.approx(want_h.model_dump(), abs=1e-12)


def test_small_and_degenerate_windows_match() -> None:
    rubric = RUBRICS["helpfulness"]
    names = ["a", "b"]
    for codes in (
        np.array([[2.0, 2.0]] * 12),  # one category only: kappa 0/0 reported as 1
        np.array([[1.0, np.nan]] * 5),  # nothing pairable
        np.array([[1.0, 2.0]] * 9),  # fewer than MIN_PAIRED
    ):
        human = np.full(codes.shape[0], np.nan)
        items = panel_agreement(rubric, names, codes, human)
        patterns = pattern_agreement(rubric, names, *_patterns(codes, human))
        assert patterns.model_dump() == items.model_dump()


def test_weighted_fleiss_and_alpha_against_expanded_reference() -> None:
    # Fleiss (1971) table 1 shape: 10 items, 3 raters, reference from the item-level code
    # (itself checked against statsmodels in tests/routing/test_kappa.py).
    codes = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1], [2, 2, 1], [0, 2, 2]], dtype=float)
    counts = np.array([4, 3, 2, 5, 1])
    expanded = np.repeat(codes, counts, axis=0)
    want = fleiss_kappa(expanded, n_categories=3, n_boot=0)
    got = weighted_fleiss_kappa(codes, counts, n_categories=3, n_boot=0)
    assert got.value == pytest.approx(want.value, abs=1e-12)
    for level in ("nominal", "ordinal", "interval"):
        want_a = krippendorff_alpha(expanded, level=level, n_boot=0)
        got_a = weighted_krippendorff_alpha(codes, counts, level=level, n_boot=0)
        assert got_a.value == pytest.approx(want_a.value, abs=1e-12)


def test_weighted_position_bias_equals_item_level() -> None:
    kinds = [
        JudgeVerdict(judge="a", value="A", consistent=True),
        JudgeVerdict(judge="a", value="tie", consistent=False, first_position_won=True),
        JudgeVerdict(judge="a", value="tie", consistent=False, first_position_won=False),
        JudgeVerdict(judge="a", value="tie", consistent=False),
        JudgeVerdict(judge="a", value=None),
    ]
    other = JudgeVerdict(judge="b", value="B", consistent=True)
    counts = [7, 5, 2, 1, 3]
    items = [[kind, other] for kind, n in zip(kinds, counts, strict=True) for _ in range(n)]
    assert weighted_position_bias(
        [([kind, other], n) for kind, n in zip(kinds, counts, strict=True)]
    ) == position_bias(items)
