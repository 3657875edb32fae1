"""Load `quorum.yaml`: judges, panels and extra rubric directories, validated at start-up.

Any problem stops start-up with one line naming the file, the key and the problem:

    quorum.yaml: panels[0].judges[2]: unknown judge 'llama' (known: gpt, claude)

What is valid but likely a mistake (a judge in no panel, judges of one family on a
panel) is logged as a warning, one line each, and kept in `QuorumConfig.warnings`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.errors import ConfigError, NotFound
from api.governance_config import GovernanceConfig, check_policies
from api.profiles import Profile, ProfileConfig, resolve_profiles
from judges import JudgeConfig, jurors
from judges.config_checks import judge_problem
from routing import Aggregation, RoutingPolicy, allowed
from routing.governance import Policies
from routing.sequential import DEFAULT_CASCADE_CONFIDENCE, default_quorum
from rubrics import LIBRARY_DIR, Mode, Rubric, RubricError, load_rubrics
from rubrics.guidance import UseCase, guidance_text
from rubrics.loader import bool_as_number, first_error, read_mapping

log = logging.getLogger("quorum.config")

PANEL_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def _short(n: int) -> str:
    """`n` as written, or its first digits when it has dozens."""
    text = str(n)
    return text if len(text) <= 20 else f"{text[:12]}... ({len(text)} digits)"


class PanelConfig(BaseModel):
    """A jury: which judges, on which rubric, aggregated how, routed how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=PANEL_NAME)
    rubric: str
    judges: tuple[str, ...] = Field(min_length=1)
    aggregation: Aggregation = Aggregation.JURY
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
    description: str = Field(default="", max_length=4000)
    """What the panel judges, for people: served by `GET /v1/panels`."""
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
            raise ValueError(f"quorum {_short(self.quorum)} exceeds the {len(self.judges)} judges")
        if self.wave_size is not None and self.wave_size > len(self.judges):
            # One wave of every judge is the parallel strategy: say so, not run it quietly.
            raise ValueError(
                f"wave_size {_short(self.wave_size)} exceeds the {len(self.judges)} judges "
                "(one wave of every judge: strategy parallel)"
            )
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
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
    policies: Policies = ()
    """Lifecycle policies (`routing.governance.Policy`), in order."""


class QuorumConfig(BaseModel):
    """The loaded, cross-checked configuration the service runs on."""

    model_config = ConfigDict(frozen=True)

    path: str
    judges: dict[str, JudgeConfig]
    panels: dict[str, PanelConfig]
    rubrics: dict[str, Rubric]
    profiles: dict[str, Profile] = Field(default_factory=dict)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
    policies: Policies = ()
    warnings: tuple[str, ...] = ()
    """What is valid but likely a mistake (a judge in no panel, correlated judges), one
    line each naming file and key; `load_config` has logged them."""

    def profile(self, name: str, only: Collection[str] | None = None) -> Profile:
        """The profile named `name`; `NotFound` (404) naming the configured ones otherwise.
        `only` (a key's panels): a profile judged in part by any other panel is not found
        either, and only the others are named (as `panel` does)."""
        profile = self.profiles.get(name)
        if profile is None or not self.profile_within(profile, only):
            names = [n for n, p in self.profiles.items() if self.profile_within(p, only)]
            known = ", ".join(sorted(names)) or "none"
            raise NotFound(f"no profile named {name!r} (configured: {known})")
        return profile

    @staticmethod
    def profile_within(profile: Profile, only: Collection[str] | None) -> bool:
        """Whether every panel of `profile` is among `only` (None: every panel)."""
        return only is None or all(c.panel in only for c in profile.criteria)

    def panel_judges(self, panel: PanelConfig) -> tuple[JudgeConfig, ...]:
        return tuple(self.judges[name] for name in panel.judges)

    def panel(self, name: str, only: Collection[str] | None = None) -> PanelConfig:
        """The panel named `name`; `NotFound` (404) naming the configured ones otherwise.
        `only` (a key's panels): any other panel is not found either, and only those
        are named."""
        panel = self.panels.get(name)
        if panel is None or (only is not None and name not in only):
            names = self.panels if only is None else set(self.panels) & set(only)
            known = ", ".join(sorted(names)) or "none"
            raise NotFound(f"no panel named {name!r} (configured: {known})")
        return panel

    def panel_rubric(
        self, name: str, only: Collection[str] | None = None
    ) -> tuple[PanelConfig, Rubric]:
        """The panel named `name` and its rubric (see `panel`)."""
        panel = self.panel(name, only)
        return panel, self.rubrics[panel.rubric]


def _dupes(names: list[str]) -> list[str]:
    return [n for n, c in Counter(names).items() if c > 1]


def _second(names: list[str], name: str) -> int:
    """Index of the second occurrence of `name`: the entry that clashes."""
    return names.index(name, names.index(name) + 1)


def _check_checklist(path: Path, where: str, panel: PanelConfig, rubric: Rubric) -> None:
    """A checklist panel asks every judge once, in parallel, and counts votes."""
    if rubric.mode is not Mode.CHECKLIST:
        return
    if panel.aggregation not in (Aggregation.MAJORITY, Aggregation.WEIGHTED):
        raise ConfigError(
            path,
            f"{where}.aggregation",
            f"checklist rubric {rubric.id!r} aggregates each question by majority or weighted",
        )
    if panel.strategy != "parallel":
        raise ConfigError(
            path, f"{where}.strategy", "a checklist panel asks its judges in parallel only"
        )
    if panel.scale_swap:
        raise ConfigError(
            path,
            f"{where}.scale_swap",
            "a checklist has no scale to swap: its question order is permuted per call",
        )


def load_config(path: Path) -> QuorumConfig:
    """Read and validate the config file; raise `ConfigError` with file, key and problem.
    What is valid but likely a mistake is logged and kept in `QuorumConfig.warnings`."""
    data, line, unreadable = read_mapping(path)
    if data is None:
        if not path.exists() and not path.is_symlink():
            unreadable = "file not found (set QUORUM_CONFIG or --config)"
        elif unreadable.startswith("expected a mapping"):
            unreadable = "expected a mapping with 'judges' and 'panels'"
        raise ConfigError(path, line, unreadable)
    try:
        parsed = ConfigFile.model_validate(data)
    except ValidationError as exc:
        key, msg = first_error(exc, data)
        raise ConfigError(
            path, key, _EMPTY.get(_pattern(key), msg) if _empty(exc) else msg
        ) from exc
    if not parsed.panels and not parsed.profiles:
        if "panels" in data:
            raise ConfigError(path, "panels", "no panels: list at least one (or a profile)")
        raise ConfigError(path, "panels", "Field required (or a profile)")
    problem = bool_as_number(parsed, data)
    if problem:
        raise ConfigError(path, *problem)
    for i, judge in enumerate(parsed.judges):
        found = judge_problem(judge)
        if found:
            raise ConfigError(path, f"judges[{i}].{found[0]}", found[1])

    rubrics = _rubrics(path, parsed.rubric_dirs)
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
    warnings: list[str] = []
    panels: list[PanelConfig] = []
    for i, panel in enumerate(parsed.panels):
        panels.append(_checklist_default(panel, rubrics))
        _check_panel(path, f"panels[{i}]", panels[-1], judges, rubrics, warnings)
    by_name = {p.name: p for p in panels}
    profiles, built = resolve_profiles(path, parsed.profiles, by_name, set(judges), rubrics)
    for name, panel in built.items():
        panel = _checklist_default(panel, rubrics)
        # A built panel has its profile's judges, in order: its problems are that profile's.
        where = next(
            (f"profiles[{i}]" for i, p in enumerate(profiles.values()) if p.criterion(name)),
            "profiles",
        )
        _check_panel(path, where, panel, judges, rubrics, warnings)
        by_name[name] = panel
    check_policies(path, parsed.policies, profiles, set(by_name))
    used = {j for panel in by_name.values() for j in panel.judges}
    warnings += [
        f"{path}: judges[{i}]: judge {name!r} is in no panel (a typo in a panel's judges?)"
        for i, name in enumerate(judge_names)
        if name not in used
    ]
    for warning in warnings:
        log.warning("%s", warning)
    return QuorumConfig(
        path=str(path),
        judges=judges,
        panels=by_name,
        rubrics=rubrics,
        profiles=profiles,
        governance=parsed.governance,
        policies=parsed.policies,
        warnings=tuple(warnings),
    )


_EMPTY = {
    "judges": "no judges: list at least one",
    "panels[].judges": "no judges: a panel needs at least one",
}
"""What an empty list means, by key (indexes as `[]`), said instead of pydantic's
"Tuple should have at least 1 item"."""


def _pattern(key: str) -> str:
    return re.sub(r"\[\d+\]", "[]", key)


def _empty(exc: ValidationError) -> bool:
    err = exc.errors()[0]
    return err["type"] == "too_short" and not err.get("input")


def _rubrics(path: Path, rubric_dirs: tuple[str, ...]) -> dict[str, Rubric]:
    """The shipped rubrics and those of `rubric_dirs` (relative to the config file)."""
    dirs = [(path.parent / d).resolve() for d in rubric_dirs]
    for i, (name, directory) in enumerate(zip(rubric_dirs, dirs, strict=True)):
        where = f"rubric_dirs[{i}]"
        if not name.strip():
            raise ConfigError(path, where, "empty: name a directory of rubric files")
        if not directory.is_dir():
            raise ConfigError(path, where, f"{name!r}: no such directory ({directory})")
        if path.suffix in (".yaml", ".yml") and path.resolve().parent == directory:
            raise ConfigError(
                path, where, f"{name!r} is the config file's own directory: give the rubrics one"
            )
    try:
        return load_rubrics([LIBRARY_DIR, *dirs])
    except RubricError as exc:
        where = next(
            (f"rubric_dirs[{i}]" for i, d in enumerate(dirs) if str(exc).startswith(f"{d}/")),
            "rubric_dirs",
        )
        raise ConfigError(path, where, str(exc)) from exc


def _check_panel(
    path: Path,
    where: str,
    panel: PanelConfig,
    judges: dict[str, JudgeConfig],
    rubrics: dict[str, Rubric],
    warnings: list[str],
) -> None:
    """Cross-check one panel against the judges and rubrics (`ConfigError` otherwise);
    add what is likely a mistake to `warnings`."""
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
        warnings.append(
            f"{path}: {where}: several judges of family {fam!r}: their errors may be correlated"
        )
    _check_checklist(path, where, panel, rubric)
    for k, name in enumerate(panel.judges):
        problem = jurors.check(judges[name], rubric)
        if problem:
            raise ConfigError(path, f"{where}.judges[{k}]", f"judge {name!r}: {problem}")
        if judges[name].type == "pattern" and panel.redact:
            warnings.append(
                f"{path}: {where}: pattern juror {name!r} on a panel with redact on: it sees "
                "the texts after the service's redaction patterns"
            )
    if rubric.mode is Mode.PAIRWISE and not panel.position_swap:
        warnings.append(
            f"{path}: {where}: position_swap is off: verdicts are exposed to position bias"
        )


def _checklist_default(panel: PanelConfig, rubrics: dict[str, Rubric]) -> PanelConfig:
    """A checklist panel with no `aggregation` counts each question's votes by majority:
    the jury (the default elsewhere) reads one value per judge."""
    rubric = rubrics.get(panel.rubric)
    if (
        rubric is not None
        and rubric.mode is Mode.CHECKLIST
        and ("aggregation" not in panel.model_fields_set)
    ):
        return panel.model_copy(update={"aggregation": Aggregation.MAJORITY})
    return panel
