"""Reliability tests: fuzzing the live API, a crash mid-evaluation, the database going away."""

from tests.support.config import slow_config

__all__ = ["slow_config"]
