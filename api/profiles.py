"""Governance profiles: named sets of weighted criteria with a compliance rule.

A profile in `quorum.yaml` either lists its criteria (each an existing panel with a
weight) or uses a shipped profile (`use: security`, from `rubrics/profiles/`), whose
criteria are rubrics: each is bound to a configured panel on that rubric (`panels:
{rubric: panel}`), or judged by a panel built for it from the profile's `judges`
(named `<profile>-<rubric>`). Problems stop start-up with one line naming file and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from api.errors import ConfigError
from rubrics import Mode, Rubric
from rubrics.guidance import UseCase
from rubrics.loader import PROFILES_DIR, first_error, read_mapping
from rubrics.models import Standard

if TYPE_CHECKING:
    from api.config import PanelConfig

PROFILE_NAME = r"^[a-z0-9][a-z0-9_-]{0,47}$"


class ProfileLoadError(ValueError):
    """A shipped profile file is invalid (a packaging bug; reported like a config error)."""


class CriterionConfig(BaseModel):
    """One criterion of a profile: a panel and its weight in the compliance score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    panel: str
    weight: float = Field(default=1.0, gt=0, le=1000)


class ProfileConfig(BaseModel):
    """A profile as written in `quorum.yaml` (`criteria`, or `use` a shipped one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, pattern=PROFILE_NAME)
    """Default: the shipped profile's name (with `use`)."""
    use: str | None = None
    """A shipped profile (see `GET /v1/profiles` or docs/profiles.md)."""
    description: str | None = None
    criteria: tuple[CriterionConfig, ...] = Field(default=(), validate_default=True)
    judges: tuple[str, ...] = ()
    """With `use`: the judges of the panels built for criteria not bound in `panels`."""
    panels: dict[str, str] = Field(default_factory=dict)
    """With `use`: rubric id -> a configured panel that judges that criterion."""
    weights: dict[str, Annotated[float, Field(gt=0, le=1000)]] = Field(default_factory=dict)
    """With `use`: rubric id -> a weight replacing the shipped one."""
    min_score: float | None = Field(default=None, ge=0, le=1)
    """Minimum weighted compliance score (0..1) over the decided, applicable criteria."""
    must_pass: tuple[str, ...] | None = None
    """Criteria (panel names or rubric ids) that must be compliant whatever the score."""
    use_case: UseCase | None = None
    guidance: str | None = Field(default=None, max_length=4000)

    @field_validator("criteria")
    @classmethod
    def _some_criteria(
        cls, criteria: tuple[CriterionConfig, ...], info: ValidationInfo
    ) -> tuple[CriterionConfig, ...]:
        if not criteria and "use" in info.data and info.data["use"] is None:
            raise ValueError("no criteria: a profile needs at least one (or 'use' a shipped one)")
        return criteria

    @model_validator(mode="after")
    def _shape(self) -> ProfileConfig:
        if self.use is None:
            if self.name is None:
                raise ValueError("a profile needs a 'name' (or 'use' a shipped profile)")
            for key in ("judges", "panels", "weights"):
                if getattr(self, key):
                    raise ValueError(f"'{key}' is only for profiles that 'use' a shipped one")
        elif self.criteria:
            raise ValueError("give either 'use' or 'criteria', not both")
        return self


class ShippedCriterion(BaseModel):
    """A criterion of a shipped profile: a rubric of the library and its weight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rubric: str
    weight: float = Field(default=1.0, gt=0)
    redact: bool = True
    """False for criteria that must see personal data (data leakage)."""


class ShippedProfile(BaseModel):
    """A profile of the shipped library (`rubrics/profiles/<name>.yaml`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=PROFILE_NAME)
    description: str = Field(min_length=1)
    serves: str = Field(min_length=1)
    """The texts (regulations, standards) the profile answers to, in prose."""
    standards: tuple[Standard, ...] = ()
    criteria: tuple[ShippedCriterion, ...] = Field(min_length=1)
    min_score: float = Field(default=1.0, ge=0, le=1)
    must_pass: tuple[str, ...] = ()
    use_case: UseCase | None = None


class Criterion(BaseModel):
    """A resolved criterion: the panel that judges it and its weight."""

    model_config = ConfigDict(frozen=True)

    panel: str
    rubric: str
    weight: float
    must_pass: bool


class Profile(BaseModel):
    """A resolved profile the service runs assessments on."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    use: str | None
    criteria: tuple[Criterion, ...]
    min_score: float
    use_case: UseCase | None = None
    guidance: str | None = None
    standards: tuple[Standard, ...] = ()

    def criterion(self, panel: str) -> Criterion | None:
        return next((c for c in self.criteria if c.panel == panel), None)


def load_shipped(directory: Path = PROFILES_DIR) -> dict[str, ShippedProfile]:
    """The shipped profile library, keyed by name."""
    found: dict[str, ShippedProfile] = {}
    for path in sorted(directory.glob("*.yaml")):
        data, key, problem = read_mapping(path)
        if data is None:
            raise ProfileLoadError(f"{path}: {key}: {problem}")
        try:
            profile = ShippedProfile.model_validate(data)
        except ValidationError as exc:
            key, msg = first_error(exc, data)
            raise ProfileLoadError(f"{path}: {key}: {msg}") from exc
        if profile.name != path.stem:
            raise ProfileLoadError(f"{path}: name: must match the file name {path.stem!r}")
        found[profile.name] = profile
    return found


def shipped_panel(
    profile: str, criterion: ShippedCriterion, judges: tuple[str, ...]
) -> dict[str, Any]:
    """The panel built for a shipped criterion that no configured panel judges."""
    return {
        "name": f"{profile}-{criterion.rubric}"[:64],
        "rubric": criterion.rubric,
        "judges": list(judges),
        "redact": criterion.redact,
        "description": f"built for profile {profile!r}: criterion {criterion.rubric!r}",
    }


def _shipped(path: Path, where: str, name: str) -> ShippedProfile:
    library = load_shipped()
    if name not in library:
        known = ", ".join(sorted(library))
        raise ConfigError(
            path, f"{where}.use", f"unknown shipped profile {name!r} (known: {known})"
        )
    return library[name]


def _must_pass(
    path: Path, where: str, names: tuple[str, ...], criteria: list[tuple[str, str, float]]
) -> set[str]:
    """The panels of the criteria named in `must_pass` (by panel name or rubric id)."""
    chosen: set[str] = set()
    for k, name in enumerate(names):
        hits = [panel for panel, rubric, _ in criteria if name in (panel, rubric)]
        if not hits:
            known = ", ".join(p for p, _, _ in criteria)
            raise ConfigError(
                path, f"{where}.must_pass[{k}]", f"{name!r} is not a criterion (criteria: {known})"
            )
        chosen.update(hits)
    return chosen


def resolve_profiles(
    path: Path,
    configs: tuple[ProfileConfig, ...],
    panels: dict[str, PanelConfig],
    judges: set[str],
    rubrics: dict[str, Rubric],
) -> tuple[dict[str, Profile], dict[str, PanelConfig]]:
    """Cross-check the profiles against panels, judges and rubrics; return them resolved,
    with the panels built for shipped criteria (`ConfigError` naming file and key)."""
    from api.config import PanelConfig  # config imports this module

    profiles: dict[str, Profile] = {}
    built: dict[str, PanelConfig] = {}
    for i, p in enumerate(configs):
        where = f"profiles[{i}]"
        criteria: list[tuple[str, str, float]] = []  # (panel, rubric, weight)
        shipped = _shipped(path, where, p.use) if p.use else None
        name = p.name or (shipped.name if shipped else "")
        if name in profiles:
            raise ConfigError(path, f"{where}.name", f"duplicate profile name {name!r}")
        if shipped is not None:
            ids = {c.rubric for c in shipped.criteria}
            for key in ("panels", "weights"):
                for rubric_id in getattr(p, key):
                    if rubric_id not in ids:
                        raise ConfigError(
                            path,
                            f"{where}.{key}.{rubric_id}",
                            f"{rubric_id!r} is not a criterion of {shipped.name!r} "
                            f"(criteria: {', '.join(sorted(ids))})",
                        )
            for k, judge in enumerate(p.judges):
                if judge not in judges:
                    raise ConfigError(
                        path,
                        f"{where}.judges[{k}]",
                        f"unknown judge {judge!r} (known: {', '.join(sorted(judges))})",
                    )
            for c in shipped.criteria:
                weight = p.weights.get(c.rubric, c.weight)
                bound = p.panels.get(c.rubric)
                if bound is not None:
                    panel = panels.get(bound)
                    if panel is None:
                        raise ConfigError(
                            path, f"{where}.panels.{c.rubric}", f"unknown panel {bound!r}"
                        )
                    if panel.rubric != c.rubric:
                        raise ConfigError(
                            path,
                            f"{where}.panels.{c.rubric}",
                            f"panel {bound!r} judges rubric {panel.rubric!r}, not {c.rubric!r}",
                        )
                    criteria.append((bound, c.rubric, weight))
                    continue
                if not p.judges:
                    raise ConfigError(
                        path,
                        f"{where}.judges",
                        f"criterion {c.rubric!r} has no panel: give the profile 'judges' "
                        f"or bind it in 'panels'",
                    )
                spec = shipped_panel(name, c, p.judges)
                if spec["name"] in panels:
                    raise ConfigError(
                        path,
                        f"{where}.panels.{c.rubric}",
                        f"a configured panel is already named {spec['name']!r}: bind it here",
                    )
                built[spec["name"]] = PanelConfig.model_validate(spec)
                criteria.append((spec["name"], c.rubric, weight))
        else:
            for k, cc in enumerate(p.criteria):
                panel = panels.get(cc.panel)
                if panel is None:
                    raise ConfigError(
                        path,
                        f"{where}.criteria[{k}].panel",
                        f"unknown panel {cc.panel!r} (known: {', '.join(panels) or 'none'})",
                    )
                if rubrics[panel.rubric].mode is not Mode.POINTWISE:
                    raise ConfigError(
                        path,
                        f"{where}.criteria[{k}].panel",
                        f"panel {cc.panel!r} is pairwise: a criterion judges one response",
                    )
                if any(cc.panel == seen for seen, _, _ in criteria):
                    raise ConfigError(
                        path, f"{where}.criteria[{k}].panel", f"panel {cc.panel!r} listed twice"
                    )
                criteria.append((cc.panel, panel.rubric, cc.weight))
        for panel_name, rubric_id, _ in criteria:
            if rubrics[rubric_id].compliant is None:
                raise ConfigError(
                    path,
                    f"{where}",
                    f"criterion {panel_name!r}: rubric {rubric_id!r} has no compliance rule",
                )
        names = p.must_pass if p.must_pass is not None else (shipped.must_pass if shipped else ())
        required = _must_pass(path, f"{where}", names, criteria)
        min_score = (
            p.min_score if p.min_score is not None else (shipped.min_score if shipped else 1.0)
        )
        profiles[name] = Profile(
            name=name,
            description=p.description or (shipped.description if shipped else ""),
            use=p.use,
            criteria=tuple(
                Criterion(panel=pn, rubric=r, weight=w, must_pass=pn in required)
                for pn, r, w in criteria
            ),
            min_score=min_score,
            use_case=p.use_case or (shipped.use_case if shipped else None),
            guidance=p.guidance,
            standards=shipped.standards if shipped else (),
        )
    return profiles, built
