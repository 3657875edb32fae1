"""One choice of agreement measure per rubric, for /agreement and the backtest alike."""

from __future__ import annotations

import krippendorff
import numpy as np

from routing import krippendorff_alpha
from routing.measures import level_for, weighting_for
from rubrics import LIBRARY_DIR, load_rubrics

RUBRICS = load_rubrics([LIBRARY_DIR])


def test_graded_scales_are_quadratic_and_ordinal() -> None:
    helpfulness = RUBRICS["helpfulness"]
    assert (weighting_for(helpfulness), level_for(helpfulness)) == ("quadratic", "ordinal")


def test_binary_and_pairwise_scales_are_unweighted_and_nominal() -> None:
    for name in ("safety", "pairwise-preference"):
        assert (weighting_for(RUBRICS[name]), level_for(RUBRICS[name])) == ("none", "nominal")


def test_the_chosen_level_is_krippendorffs_ordinal_alpha() -> None:
    """On a 1-5 rubric, the alpha reported is the `krippendorff` package's ordinal alpha
    (not interval): the reference library decides what the level means."""
    codes = np.array([[0, 1, 4], [1, 1, 3], [2, 2, 2], [3, 4, 4], [0, 0, 1], [4, 3, 4]], float)
    level = level_for(RUBRICS["helpfulness"])
    ours = krippendorff_alpha(codes, level=level, n_boot=0).value
    reference = krippendorff.alpha(reliability_data=codes.T, level_of_measurement=level)
    assert abs(ours - reference) < 1e-9


def test_the_backtest_and_the_service_use_the_same_choice() -> None:
    import backtest.replay
    import routing.panel_stats

    assert backtest.replay.weighting_for is routing.panel_stats.weighting_for is weighting_for
    assert backtest.replay.level_for is routing.panel_stats.level_for is level_for
