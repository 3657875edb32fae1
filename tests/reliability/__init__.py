"""Reliability tests: fuzzing the live API, a crash mid-evaluation, the database going away."""
