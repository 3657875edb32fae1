"""Prompt corpora for qualifying a candidate model before production (`quorum qualify`).

A corpus is a YAML file of prompts, each tagged with the criteria (rubric ids) it is
written to test; the shipped one is `rubrics/corpora/governance.yaml`. `load_corpus`
validates it with one-line errors naming the file and the key (`CorpusLoadError`), and
checks every tagged criterion against the rubrics it is given. `select` picks the prompts
that test a set of criteria, spread over the categories.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from rubrics.errors import RubricLoadError
from rubrics.loader import first_error, read_mapping
from rubrics.models import RUBRIC_ID_PATTERN

CORPORA_DIR = Path(__file__).parent / "corpora"
"""The corpora shipped with Quorum."""
GOVERNANCE_CORPUS = CORPORA_DIR / "governance.yaml"
"""The shipped governance corpus: personal data, transparency, manipulation, security and
human oversight."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class CorpusLoadError(RubricLoadError):
    """A corpus file could not be loaded; the message names the file, the key and the problem."""


class Category(StrEnum):
    """What a prompt probes. A bounded set, so that a report can be read per category."""

    PERSONAL_DATA = "personal-data"
    TRANSPARENCY = "transparency"
    MANIPULATION = "manipulation"
    SECURITY = "security"
    HUMAN_OVERSIGHT = "human-oversight"


class CorpusPrompt(BaseModel):
    """One situation the candidate model answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    """Unique in the corpus; sent with each assessment (metadata `prompt_id`)."""
    category: Category
    criteria: tuple[Annotated[str, Field(pattern=RUBRIC_ID_PATTERN)], ...] = Field(min_length=1)
    """The rubric ids this prompt is written to test."""
    prompt: Text
    """The user's message."""
    system: Text | None = None
    """The deployer's system prompt the candidate runs under, if any."""
    context: Text | None = None
    """Retrieved documents or tool output the candidate is given with the prompt."""
    expected: Text
    """What a compliant answer does, in a sentence: for the reviewer, never for the judges."""

    @field_validator("criteria")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({c for c in value if value.count(c) > 1})
        if twice:
            raise ValueError(f"criteria listed twice: {', '.join(twice)}")
        return value

    def messages(self) -> tuple[dict[str, str], ...]:
        """The chat messages the candidate model is sent: the system prompt, then the user
        message with the context (if any) ahead of the prompt, as a RAG application or a
        tool loop would pass it."""
        user = f"{self.context}\n\n{self.prompt}" if self.context else self.prompt
        system = ({"role": "system", "content": self.system},) if self.system else ()
        return (*system, {"role": "user", "content": user})


class Corpus(BaseModel):
    """A named, versioned set of prompts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    version: int = Field(ge=1)
    description: str = ""
    prompts: tuple[CorpusPrompt, ...] = Field(min_length=1)

    @field_validator("prompts")
    @classmethod
    def _unique_ids(cls, value: tuple[CorpusPrompt, ...]) -> tuple[CorpusPrompt, ...]:
        seen: set[str] = set()
        for p in value:
            if p.id in seen:
                raise ValueError(f"duplicate prompt id {p.id!r}")
            seen.add(p.id)
        return value

    def criteria(self) -> set[str]:
        """Every criterion some prompt tests."""
        return {c for p in self.prompts for c in p.criteria}


def load_corpus(path: Path, rubrics: Collection[str] | None = None) -> Corpus:
    """Parse and validate one corpus file. With `rubrics` (the known rubric ids), a prompt
    tagged with any other criterion is an error naming the prompt's key."""
    data, key, problem = read_mapping(path)
    if data is None:
        raise CorpusLoadError(path, key, problem)
    try:
        corpus = Corpus.model_validate(data)
    except ValidationError as exc:
        key, msg = first_error(exc, data)
        raise CorpusLoadError(path, key, msg) from exc
    if rubrics is not None:
        for i, p in enumerate(corpus.prompts):
            for j, criterion in enumerate(p.criteria):
                if criterion not in rubrics:
                    raise CorpusLoadError(
                        path,
                        f"prompts[{i}].criteria[{j}]",
                        f"unknown rubric {criterion!r} (prompt {p.id!r})",
                    )
    return corpus


def select(
    corpus: Corpus, criteria: Iterable[str], n: int | None = None
) -> tuple[CorpusPrompt, ...]:
    """The prompts that test at least one of `criteria`, in corpus order; with `n`, the
    first `n` of them taken in turn from each category (so that a short run still covers
    every category it can), returned in corpus order."""
    wanted = set(criteria)
    found = [p for p in corpus.prompts if wanted.intersection(p.criteria)]
    if n is None or n >= len(found):
        return tuple(found)
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}")
    queues: dict[Category, list[CorpusPrompt]] = {}
    for p in found:
        queues.setdefault(p.category, []).append(p)
    chosen: set[str] = set()
    while len(chosen) < n:
        for queue in queues.values():
            if queue and len(chosen) < n:
                chosen.add(queue.pop(0).id)
    return tuple(p for p in found if p.id in chosen)
