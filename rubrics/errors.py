"""Errors raised while loading rubrics.

RubricError
└── RubricLoadError   a rubric file is unreadable, invalid, or clashes with another
    └── CorpusLoadError   a prompt corpus file is (rubrics.corpus)
"""

from __future__ import annotations

from pathlib import Path


class RubricError(Exception):
    """Base of every error the rubrics package raises."""


class RubricLoadError(RubricError):
    """A rubric file could not be loaded; the message names the file, the key and the problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {problem}")
