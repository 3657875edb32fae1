"""Calibrate a panel's confidence threshold on human verdicts, store it, apply it.

Data: the panel's evaluations that a human decided, each with the panel's own value
(kept in the outcome) and its confidence; agreement = the panel value equals the human's.
`routing.calibration.calibrate` picks the lowest threshold whose auto-decided items agree
with humans at rate >= 1 - alpha with probability >= 1 - delta (fixed-sequence testing,
"Trust or Escalate"). Every calibration is stored, versioned per panel, with the ids of
the evaluations it used; the newest applied one is the threshold in force, replacing the
panel's configured `routing.min_confidence`. Items routed for low confidence are a biased
sample of traffic; `n_audit` says how many came from the unbiased random audit.

A calibration is a dry run unless asked to apply, and one that certified nothing is never
applied (the threshold in force stays; `reviews_needed` says how many more agreeing human
reviews certification needs). A reset is stored as a version too (no items, `n_items` 0):
applied, it puts the panel's configured threshold back in force.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from api.config import QuorumConfig
from api.errors import Conflict, InvalidInput
from api.schemas import CalibrationPublic
from api.store import AsyncSession, IntegrityError, SessionFactory
from api.store.audit_log import CLI, Actor, AuditLog
from api.store.calibrations import CalibrationRepository
from api.store.digest import calibration_digest
from api.store.tables import CalibrationRow, utcnow
from routing import RoutingPolicy
from routing.calibration import calibrate, reviews_to_certify
from routing.calibration_floor import check_certifiable


class CalibrationService:
    """Computes, stores and serves the calibrated thresholds in force."""

    def __init__(self, config: QuorumConfig, sessions: SessionFactory) -> None:
        self.config = config
        self.sessions = sessions
        self._in_force: dict[str, float] = {}

    def policy(self, panel: str, configured: RoutingPolicy) -> RoutingPolicy:
        """The panel's routing policy with the calibrated threshold in force, if any."""
        threshold = self._in_force.get(panel)
        if threshold is None:
            return configured
        # inf (nothing certified) routes every item to humans: confidence is at most 1.
        return configured.model_copy(update={"min_confidence": min(threshold, 1.0 + 1e-9)})

    async def refresh(self) -> None:
        """Load the newest applied calibration of every panel (other replicas' too); a
        reset leaves the panel on its configured threshold."""
        async with self.sessions() as session:
            rows = await CalibrationRepository(session).newest_applied()
        self._in_force = {
            r.panel: (r.threshold if r.threshold is not None else math.inf)
            for r in rows
            if not is_reset(r)
        }

    def in_force(self, panel: str) -> float | None:
        """The calibrated threshold in force for the panel; None: the configured one."""
        return self._in_force.get(panel)

    async def reset(self, panel: str, actor: Actor = CLI) -> CalibrationRow:
        """Put the panel's configured threshold back in force, recorded as a version."""
        configured = self.config.panel(panel).routing.min_confidence
        async with self.sessions() as session:
            repo = CalibrationRepository(session)
            version = await repo.latest_version(panel)
            row = CalibrationRow(
                id=uuid.uuid4().hex,
                panel=panel,
                version=version + 1,
                alpha=0.0,
                delta=0.0,
                threshold=configured,
                certified=False,
                coverage=0.0,
                risk=None,
                risk_upper=None,
                n_items=0,
                n_audit=0,
                evaluation_ids=[],
                curve=[],
                applied=True,
                created_at=utcnow(),
            )
            after = {"panel": panel, "version": row.version, "reset_to": configured}
            await _store(session, repo, row, actor, after)
        await self.refresh()
        return row

    async def run(
        self, panel: str, alpha: float, delta: float, apply: bool, actor: Actor = CLI
    ) -> CalibrationRow:
        self.config.panel(panel)
        try:  # in (0, 1), and certifiable with as many reviews as a calibration can use
            check_certifiable(alpha, delta)
        except ValueError as exc:
            raise InvalidInput(str(exc), location="body.alpha") from None
        async with self.sessions() as session:
            repo = CalibrationRepository(session)
            rows = await repo.reviewed(panel)
            usable = [
                (e, reasons)
                for e, reasons in rows
                if e.outcome and e.outcome.get("panel_value") is not None
            ]
            if not usable:
                raise InvalidInput(f"panel {panel!r} has no human-reviewed evaluations yet")
            confidence = [float(e.confidence or 0.0) for e, _ in usable]
            agree = [
                int(_same((e.outcome or {}).get("panel_value"), e.verdict_value)) for e, _ in usable
            ]
            result = calibrate(confidence, agree, alpha=alpha, delta=delta)
            version = await repo.latest_version(panel)
            row = CalibrationRow(
                id=uuid.uuid4().hex,
                panel=panel,
                version=version + 1,
                alpha=alpha,
                delta=delta,
                threshold=result.threshold if math.isfinite(result.threshold) else None,
                certified=result.certified,
                coverage=result.coverage,
                risk=_finite(result.risk),
                risk_upper=_finite(result.risk_upper),
                n_items=result.n_items,
                n_audit=sum(1 for _, reasons in usable if "audit_sample" in (reasons or [])),
                evaluation_ids=[e.id for e, _ in usable],
                curve=[_point(p) for p in result.curve],
                applied=apply and result.certified,  # an uncertified one is never applied
                created_at=utcnow(),
            )
            after = {
                "panel": panel,
                "version": row.version,
                "threshold": row.threshold,
                "certified": row.certified,
                "applied": row.applied,
                "n_items": row.n_items,
            }
            await _store(session, repo, row, actor, after)
        if row.applied:
            await self.refresh()
        return row

    async def history(self, panel: str) -> list[CalibrationRow]:
        self.config.panel(panel)
        async with self.sessions() as session:
            return await CalibrationRepository(session).history(panel)


async def _store(
    session: AsyncSession,
    repo: CalibrationRepository,
    row: CalibrationRow,
    actor: Actor,
    after: dict[str, Any],
) -> None:
    """Store a calibration version with its `calibrated` audit event, and commit. The
    version was read under the panel's lock (`CalibrationRepository.latest_version`); a
    writer that took none (an older replica) and stored it first is a Conflict."""
    await repo.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"calibration v{row.version} of panel {row.panel!r} was stored by another run "
            "meanwhile; nothing was stored: run it again"
        ) from exc
    await AuditLog(session).append(
        "calibrated",
        actor,
        "calibration",
        row.id,
        record_sha256=calibration_digest(row),
        after=after,
        panel=row.panel,
    )
    await session.commit()


def is_reset(row: CalibrationRow) -> bool:
    """A reset version (computed from no items) rather than a calibration."""
    return row.n_items == 0


def reviews_needed(row: CalibrationRow) -> int | None:
    """For an uncertified calibration: how many more human reviews, all agreeing with the
    panel, certification needs at least at its alpha and delta; None otherwise, and for a
    row stored before alpha was bounded with an alpha no data could certify (see
    `routing.calibration_floor.check_certifiable`)."""
    if row.certified or is_reset(row):
        return None
    lowest = row.curve[-1] if row.curve else {}  # every item lies at or above the lowest
    try:
        return reviews_to_certify(
            row.n_items,
            int(lowest.get("disagreements") or 0),
            alpha=row.alpha,
            delta=row.delta,
        )
    except ValueError:
        return None


def public(row: CalibrationRow) -> CalibrationPublic:
    """The wire form of a stored calibration or reset."""
    return CalibrationPublic.model_validate(
        {
            **row.model_dump(),
            "kind": "reset" if is_reset(row) else "calibration",
            "reviews_needed": reviews_needed(row),
        }
    )


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _point(p: Any) -> dict[str, Any]:
    return {k: (_finite(v) if isinstance(v, float) else v) for k, v in p.model_dump().items()}
