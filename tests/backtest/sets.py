"""Moved to tests.support.records (issue 14); kept so branches in flight still import.
Remove once they have merged."""

from tests.support.records import (
    GOOD,
    MIRROR,
    REPO,
    SHARED_DATA,
    WAVES,
    bool_vote,
    pairwise_records,
    pointwise_records,
    pv,
    rows,
    write_set,
)

__all__ = [
    "GOOD",
    "MIRROR",
    "REPO",
    "SHARED_DATA",
    "WAVES",
    "bool_vote",
    "pairwise_records",
    "pointwise_records",
    "pv",
    "rows",
    "write_set",
]
