"""Load `quorum.yaml`: judges, panels and extra rubric directories, validated at start-up.

Any problem stops start-up with one line naming the file, the key and the problem:

    quorum.yaml: panels[0].judges[2]: unknown judge 'llama' (known: gpt, claude)
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.errors import ConfigError, NotFound
from api.profiles import Profile, ProfileConfig, resolve_profiles
from judges import JudgeConfig
from routing import Aggregation, RoutingPolicy, allowed
from routing.sequential import DEFAULT_CASCADE_CONFIDENCE, default_quorum
from rubrics import LIBRARY_DIR, Mode, Rubric, RubricError, load_rubrics
from rubrics.guidance import UseCase, guidance_text
from rubrics.loader import first_error, read_mapping

log = logging.getLogger("quorum.config")

PANEL_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class PanelConfig(BaseModel):
    """A jury: which judges, on which rubric, aggregated how, routed how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=PANEL_NAME)
    rubric: str
    judges: tuple[str, ...] = Field(min_length=1)
    aggregation: Aggregation = Aggregation.MAJORITY
    quorum: int | None = Field(default=None, ge=1)
    """Minimum usable votes; default: a strict majority of the judges."""
    position_swap: bool = True
    """Pairwise: show every judge both orders (strongly recommended)."""
    scale_swap: bool = False
    """Pointwise: ask every judge twice, the scale listed worst-first and best-first; a vote
    that changes with the listing counts as inconsistent (doubles the calls)."""
    deadline_s: float = Field(default=60.0, gt=0, le=600)
    """All judge calls of one evaluation finish (or are abandoned) within this."""
    straggler_grace_s: float | None = Field(default=None, ge=0, le=600)
    """Parallel panels: once the quorum of judges has answered, how long the calls still out
    may take before they are cancelled (and recorded as `timeout` votes). Default: twice
    the slowest answer so far, at least 1 s; never past `deadline_s`."""
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy)
    strategy: Literal["parallel", "sequential", "cascade"] = "parallel"
    """parallel: ask every judge at once. sequential: ask in waves (config order) and stop
    when the rest cannot change the verdict (exact for majority and weighted). cascade:
    stop once quorum and `cascade_confidence` are reached (cheap judges first)."""
    wave_size: int | None = Field(default=None, ge=1)
    """Judges per wave for sequential and cascade; default: the quorum."""
    cascade_confidence: float = Field(default=DEFAULT_CASCADE_CONFIDENCE, gt=0, le=1)
    reviewers: int = Field(default=1, ge=1, le=9)
    """Independent human reviews each routed item needs; disagreement goes to adjudication."""
    blind_review: bool = True
    """Hide the judges' votes and the panel verdict from a reviewer until they decide."""
    redact: bool = True
    """Apply the service's redaction patterns to this panel's texts (turn off for panels
    that judge data leakage: they must see the data)."""
    review_lease_s: float = Field(default=900.0, gt=0, le=86_400)
    """How long a claim lasts before the item returns to the queue."""
    description: str = ""
    use_case: UseCase | None = None
    """Shipped judge guidance for the kind of text judged (see `rubrics.guidance`)."""
    guidance: str | None = Field(default=None, max_length=4000)
    """Free judge instructions for this panel, rendered among the instructions."""

    @property
    def guidance_text(self) -> str:
        return guidance_text(self.use_case, self.guidance)

    @model_validator(mode="after")
    def _quorum(self) -> PanelConfig:
        if self.quorum is not None and self.quorum > len(self.judges):
            raise ValueError(f"quorum {self.quorum} exceeds the {len(self.judges)} judges")
        return self

    @property
    def effective_quorum(self) -> int:
        return self.quorum if self.quorum is not None else default_quorum(len(self.judges))


class ConfigFile(BaseModel):
    """The file's shape, before cross-references are checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rubric_dirs: tuple[str, ...] = ()
    """Extra rubric directories, relative to the config file."""
    judges: tuple[JudgeConfig, ...] = Field(min_length=1)
    panels: tuple[PanelConfig, ...] = ()
    """At least one panel, or a profile (whose shipped criteria may build their own)."""
    profiles: tuple[ProfileConfig, ...] = ()


class QuorumConfig(BaseModel):
    """The loaded, cross-checked configuration the service runs on."""

    model_config = ConfigDict(frozen=True)

    path: str
    judges: dict[str, JudgeConfig]
    panels: dict[str, PanelConfig]
    rubrics: dict[str, Rubric]
    profiles: dict[str, Profile] = Field(default_factory=dict)

    def profile(self, name: str) -> Profile:
        """The profile named `name`; `NotFound` (404) naming the configured ones otherwise."""
        profile = self.profiles.get(name)
        if profile is None:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise NotFound(f"no profile named {name!r} (configured: {known})")
        return profile

    def panel_judges(self, panel: PanelConfig) -> tuple[JudgeConfig, ...]:
        return tuple(self.judges[name] for name in panel.judges)

    def panel(self, name: str) -> PanelConfig:
        """The panel named `name`; `NotFound` (404) naming the configured ones otherwise."""
        panel = self.panels.get(name)
        if panel is None:
            known = ", ".join(sorted(self.panels)) or "none"
            raise NotFound(f"no panel named {name!r} (configured: {known})")
        return panel

    def panel_rubric(self, name: str) -> tuple[PanelConfig, Rubric]:
        """The panel named `name` and its rubric (see `panel`)."""
        panel = self.panel(name)
        return panel, self.rubrics[panel.rubric]


def _dupes(names: list[str]) -> list[str]:
    return [n for n, c in Counter(names).items() if c > 1]


def _second(names: list[str], name: str) -> int:
    """Index of the second occurrence of `name`: the entry that clashes."""
    return names.index(name, names.index(name) + 1)


def load_config(path: Path) -> QuorumConfig:
    """Read and validate the config file; raise `ConfigError` with file, key and problem."""
    data, line, unreadable = read_mapping(path)
    if data is None:
        if not path.exists():
            unreadable = "file not found (set QUORUM_CONFIG or --config)"
        elif unreadable.startswith("expected a mapping"):
            unreadable = "expected a mapping with 'judges' and 'panels'"
        raise ConfigError(path, line, unreadable)
    try:
        parsed = ConfigFile.model_validate(data)
    except ValidationError as exc:
        key, msg = first_error(exc)
        raise ConfigError(path, key, msg) from exc
    if not parsed.panels and not parsed.profiles:
        raise ConfigError(path, "panels", "Field required (or a profile)")

    dirs = [LIBRARY_DIR, *((path.parent / d).resolve() for d in parsed.rubric_dirs)]
    try:
        rubrics = load_rubrics(dirs)
    except RubricError as exc:
        raise ConfigError(path, "rubric_dirs", str(exc)) from exc

    judge_names = [j.name for j in parsed.judges]
    for dupe in _dupes(judge_names):
        raise ConfigError(
            path, f"judges[{_second(judge_names, dupe)}].name", f"duplicate judge name {dupe!r}"
        )
    panel_names = [p.name for p in parsed.panels]
    for dupe in _dupes(panel_names):
        raise ConfigError(
            path, f"panels[{_second(panel_names, dupe)}].name", f"duplicate panel name {dupe!r}"
        )
    judges = {j.name: j for j in parsed.judges}
    for i, panel in enumerate(parsed.panels):
        _check_panel(path, f"panels[{i}]", panel, judges, rubrics)
    panels = {p.name: p for p in parsed.panels}
    profiles, built = resolve_profiles(path, parsed.profiles, panels, set(judges), rubrics)
    for name, panel in built.items():
        _check_panel(path, "profiles", panel, judges, rubrics)
        panels[name] = panel
    return QuorumConfig(
        path=str(path), judges=judges, panels=panels, rubrics=rubrics, profiles=profiles
    )


def _check_panel(
    path: Path,
    where: str,
    panel: PanelConfig,
    judges: dict[str, JudgeConfig],
    rubrics: dict[str, Rubric],
) -> None:
    """Cross-check one panel against the judges and rubrics (`ConfigError` otherwise)."""
    judge_names = list(judges)
    if panel.rubric not in rubrics:
        raise ConfigError(
            path,
            f"{where}.rubric",
            f"unknown rubric {panel.rubric!r} (known: {', '.join(sorted(rubrics))})",
        )
    for k, name in enumerate(panel.judges):
        if name not in judges:
            raise ConfigError(
                path,
                f"{where}.judges[{k}]",
                f"unknown judge {name!r} (known: {', '.join(judge_names)})",
            )
    for dupe in _dupes(list(panel.judges)):
        raise ConfigError(path, f"{where}.judges", f"judge {dupe!r} listed twice")
    rubric = rubrics[panel.rubric]
    problem = allowed(rubric, panel.aggregation)
    if problem:
        raise ConfigError(
            path,
            f"{where}.aggregation",
            f"{problem}; rubric {rubric.id!r} has scale {list(rubric.scale)}",
        )
    families = [f for n in panel.judges if (f := judges[n].family)]
    for fam in _dupes(families):
        log.warning(
            "%s: %s: several judges of family %r: their errors may be correlated",
            path,
            where,
            fam,
        )
    if rubric.mode is Mode.PAIRWISE and not panel.position_swap:
        log.warning(
            "%s: %s: position_swap is off: verdicts are exposed to position bias", path, where
        )
