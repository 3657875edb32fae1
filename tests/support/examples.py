"""Published worked examples that the statistics tests check against, written down once."""

from __future__ import annotations

import numpy as np

FLEISS_1971 = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)
"""Fleiss (1971) as on Wikipedia's "Fleiss' kappa" page and in statsmodels'
stats/tests/test_inter_rater.py (`table0`/`table1`): 10 subjects (rows), 14 raters,
5 categories (columns: how many raters chose each). kappa = 0.210."""
