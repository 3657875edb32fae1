"""The expected calibration error, by hand and on simulated confidences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routing.calibration_check import expected_calibration_error


def test_by_hand() -> None:
    # Bins of width 0.1: 0.05 alone (wrong): 0.05; 0.15 alone (right): 0.85; 0.95, 0.95
    # and 1.0 in the last bin (the last bin is closed): mean 0.9667 against 2 of 3 right,
    # 0.3 x 3 items. (0.05 + 0.85 + 0.9) / 5 = 0.36.
    conf = [0.05, 0.15, 0.95, 0.95, 1.0]
    right = [0, 1, 1, 0, 1]
    assert expected_calibration_error(conf, right) == pytest.approx(0.36)
    assert expected_calibration_error(conf, right, n_bins=1) == pytest.approx(abs(0.6 - 0.62))


def test_calibrated_and_overconfident() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, 20000)
    right = rng.random(p.size) < p
    assert expected_calibration_error(p, right) < 0.01
    # The same outcomes claimed with a sharper confidence: overconfident by ~0.1.
    sharp = np.minimum(1.0, p + 0.1)
    assert expected_calibration_error(sharp, right) > 0.08


def test_bad_input() -> None:
    assert math.isnan(expected_calibration_error([], []))
    with pytest.raises(ValueError, match="alike"):
        expected_calibration_error([0.5], [1, 0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1.5], [1])
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error([0.5], [1], n_bins=0)
