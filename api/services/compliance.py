"""The compliance matrix: per subject model x use case (and per criterion), the share of
compliant verdicts in a window with its 95% interval, the judges' rate corrected on the
audit sample, and the trend.

Criterion rate: the decided evaluations of the criterion (panel) whose verdict has a
compliance (n/a out), compliant by their final verdict (a human's where there is one).
Profile rate: the profile's assessments whose compliance is known (`routing.compliance`
over their criteria's final verdicts, with the profile's weights and must-pass rules as
configured now).

Correction (prediction-powered inference, `routing.governance.ppi_rate`): the panel's
own verdict on every judged item is the prediction; the audit sample is the items whose
audit draw is below their panel's `audit_rate` (a uniform random sample, whatever their
confidence: `routing.calibration` explains the draw) and that have a human verdict. An
assessment is audited when every one of its criteria is. Fewer than 2 audited items: no
correction (`corrected: null`), and `n_audited` says how many there were.

Trend: the window in TREND_BUCKETS equal buckets by creation time, each bucket's rate and
the change from the first half of the window to the last (`routing.governance.trend`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from api.config import QuorumConfig
from api.errors import InvalidInput
from api.profiles import Profile
from api.schemas.governance import ComplianceMatrix, ComplianceRow, CriterionCompliance
from api.store import Reach, SessionFactory
from api.store.governance import GovernanceReads, JudgedCriterion
from api.store.tables import utcnow
from routing.compliance import CriterionState, compliance
from routing.governance import (
    Bucket,
    CorrectedRate,
    FigureKey,
    Rate,
    RateFigure,
    Trend,
    binomial_rate,
    format_window,
    parse_window,
    ppi_rate,
    trend,
)

TREND_BUCKETS = 7


def window_of(value: str) -> timedelta:
    """A window parameter ("7d"), or a 422 naming it."""
    try:
        return parse_window(value)
    except ValueError as exc:
        raise InvalidInput(str(exc), "query.window") from exc


@dataclass
class Outcomes:
    """The items of one cell: final outcomes, the panel's predictions, the audited pairs."""

    final: list[tuple[datetime, bool]] = field(default_factory=list)
    predicted: list[bool] = field(default_factory=list)
    audited: list[tuple[bool, bool]] = field(default_factory=list)
    """(panel's prediction, human's verdict) of the audited items."""
    min_audited: int = 30
    """Audited items the corrected rate needs (`governance.min_audited`)."""
    awaiting: int = 0
    """Items whose compliance is not known yet (being judged, or waiting for a human):
    in the window, but in no rate."""

    def rate(self) -> Rate | None:
        n = len(self.final)
        return binomial_rate(sum(1 for _, y in self.final if y), n) if n else None

    def corrected(self) -> CorrectedRate | None:
        if len(self.audited) < max(2, self.min_audited):
            return None
        return ppi_rate(
            [float(p) for p in self.predicted],
            [float(p) for p, _ in self.audited],
            [float(y) for _, y in self.audited],
        )

    def trend(self, since: datetime, until: datetime) -> Trend:
        width = (until - since) / TREND_BUCKETS
        counts = [[0, 0] for _ in range(TREND_BUCKETS)]
        for at, y in self.final:
            i = min(max(int((at - since) / width), 0), TREND_BUCKETS - 1)
            counts[i][0] += int(y)
            counts[i][1] += 1
        return trend([Bucket(start=since + i * width, k=k, n=n) for i, (k, n) in enumerate(counts)])


AWAITING = ("pending", "in_review")
"""Statuses of an evaluation whose final verdict is not known yet."""


def _audited(item: JudgedCriterion, audit_rate: float) -> bool:
    return item.source == "human" and item.audit_draw < audit_rate


def criterion_outcomes(
    items: Iterable[JudgedCriterion], audit_rates: dict[str, float], min_audited: int = 30
) -> Outcomes:
    """One criterion's items as outcomes (see the module docstring)."""
    out = Outcomes(min_audited=min_audited)
    for item in items:
        if item.compliant is not None:
            out.final.append((item.created_at, item.compliant))
        elif item.status in AWAITING:
            out.awaiting += 1
        if item.panel_compliant is not None and item.status in ("decided", "in_review"):
            out.predicted.append(item.panel_compliant)
            if item.compliant is not None and _audited(item, audit_rates.get(item.criterion, 0)):
                out.audited.append((item.panel_compliant, item.compliant))
    return out


def _states(
    profile: Profile, items: Sequence[JudgedCriterion], panel: bool
) -> list[CriterionState]:
    """The assessment's criteria as `routing.compliance` reads them: final verdicts, or
    (`panel`) the panel's own verdicts."""
    by_name = {i.criterion: i for i in items}
    states: list[CriterionState] = []
    for c in profile.criteria:
        item = by_name.get(c.panel)
        if item is None:
            states.append(CriterionState(name=c.panel, weight=c.weight, status="pending"))
            continue
        if panel:
            known = item.status in ("decided", "in_review")
            status = "decided" if known else item.status
            verdict = item.panel_compliant if known else None
        else:
            status, verdict = item.status, item.compliant
        states.append(
            CriterionState(
                name=c.panel,
                weight=c.weight,
                must_pass=c.must_pass,
                status=status,
                compliant=verdict,
                not_applicable=status == "decided" and verdict is None,
            )
        )
    return states


def profile_outcomes(
    profile: Profile,
    items: Iterable[JudgedCriterion],
    audit_rates: dict[str, float],
    min_audited: int = 30,
) -> Outcomes:
    """The profile's assessments as outcomes: each assessment's compliance by its final
    verdicts, and by its panels' verdicts (the prediction)."""
    by_assessment: dict[str, list[JudgedCriterion]] = defaultdict(list)
    for item in items:
        if item.assessment_id is not None:
            by_assessment[item.assessment_id].append(item)
    out = Outcomes(min_audited=min_audited)
    for criteria in by_assessment.values():
        final = compliance(_states(profile, criteria, panel=False), profile.min_score).compliant
        predicted = compliance(_states(profile, criteria, panel=True), profile.min_score).compliant
        at = min(i.created_at for i in criteria)
        if final is not None:
            out.final.append((at, final))
        elif len(criteria) < len(profile.criteria) or any(i.status in AWAITING for i in criteria):
            out.awaiting += 1
        if predicted is not None:
            out.predicted.append(predicted)
            every = all(_audited(i, audit_rates.get(i.criterion, 0)) for i in criteria)
            if final is not None and every and len(criteria) == len(profile.criteria):
                out.audited.append((predicted, final))
    return out


class ComplianceService:
    """Computes compliance figures from the stored verdicts when asked."""

    def __init__(self, config: QuorumConfig, sessions: SessionFactory) -> None:
        self.config = config
        self.sessions = sessions
        self.audit_rates = {name: p.routing.audit_rate for name, p in config.panels.items()}
        self.min_audited = config.governance.min_audited

    async def _judged(
        self,
        reach: Reach,
        since: datetime,
        *,
        profile: str | None = None,
        criterion: str | None = None,
        model: str | None = None,
        use_case: str | None = None,
    ) -> list[JudgedCriterion]:
        async with self.sessions() as session:
            return await GovernanceReads(session).judged(
                reach,
                since,
                profile=profile,
                panels=[criterion] if criterion else (),
                model=model,
                use_case=use_case,
            )

    async def matrix(
        self,
        reach: Reach,
        profile_name: str,
        window: str,
        *,
        use_case: str | None = None,
        model: str | None = None,
    ) -> ComplianceMatrix:
        """The matrix of one profile over `window` (see the module docstring)."""
        profile = self.config.profile(profile_name)
        length = window_of(window)
        until = utcnow()
        since = until - length
        items = await self._judged(
            reach, since, profile=profile.name, model=model, use_case=use_case
        )
        cells: dict[tuple[str, str | None], list[JudgedCriterion]] = defaultdict(list)
        for item in items:
            cells[(item.model, item.use_case)].append(item)
        data: list[ComplianceRow] = []
        for (name, case), cell in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            whole = profile_outcomes(profile, cell, self.audit_rates, self.min_audited)
            criteria = []
            for c in profile.criteria:
                one = criterion_outcomes(
                    (i for i in cell if i.criterion == c.panel), self.audit_rates, self.min_audited
                )
                criteria.append(
                    CriterionCompliance(
                        criterion=c.panel,
                        n=len(one.final),
                        n_awaiting=one.awaiting,
                        rate=one.rate(),
                        corrected=one.corrected(),
                        n_audited=len(one.audited),
                        trend=one.trend(since, until),
                    )
                )
            data.append(
                ComplianceRow(
                    model=name,
                    use_case=case,
                    n=len(whole.final),
                    n_awaiting=whole.awaiting,
                    rate=whole.rate(),
                    corrected=whole.corrected(),
                    n_audited=len(whole.audited),
                    trend=whole.trend(since, until),
                    criteria=criteria,
                )
            )
        return ComplianceMatrix(
            profile=profile.name,
            window=format_window(length),
            since=since,
            data=data,
            count=len(data),
        )

    async def figure(self, reach: Reach, model: str, key: FigureKey) -> RateFigure:
        """One rate figure of a model (a policy's, or the recommendation's): over the
        profile's assessments or one criterion, one use case or all together."""
        since = utcnow() - key.window
        if key.profile is not None:
            profile = self.config.profile(key.profile)
            items = await self._judged(
                reach, since, profile=profile.name, model=model, use_case=key.use_case
            )
            outcomes = profile_outcomes(profile, items, self.audit_rates, self.min_audited)
        else:
            items = await self._judged(
                reach, since, criterion=key.criterion, model=model, use_case=key.use_case
            )
            outcomes = criterion_outcomes(items, self.audit_rates, self.min_audited)
        return RateFigure(key=key, rate=outcomes.rate(), corrected=outcomes.corrected())
