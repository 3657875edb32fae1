"""Lifecycle zones of subject models: candidate -> validation -> production, and
quarantine, per tenant.

A model never moved is a `candidate`. A move is made by an admin (with a reason) or by a
policy (`api.services.governance`, actor `policy:<name>`, with the figures it rested on);
each is stored as a transition and appended to the audit chain (`transitioned`, subject
`model`), so it is in the audit export (`stream=events`). Moving a model to the zone it
is in is a conflict (409): nothing is recorded.

Scope: the caller's tenant, or "" for callers of no tenant (open mode, keys of every
tenant), which govern the rows of every tenant together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from api.errors import Conflict
from api.schemas.governance import ModelPublic, TransitionPublic
from api.store import AsyncSession, IntegrityError, SessionFactory
from api.store.audit_log import Actor, AuditLog
from api.store.digest import transition_digest
from api.store.drift import DriftRepository
from api.store.lifecycle import LifecycleRepository
from api.store.tables import ModelTransitionRow, ModelZoneRow, utcnow
from routing.governance import ZONES, Zone

CANDIDATE: Zone = "candidate"


def scope_of(tenant: str | None) -> str:
    """The governance scope of a caller of `tenant`."""
    return tenant or ""


def zone_of(row: ModelZoneRow | None) -> Zone:
    if row is None or row.zone not in ZONES:
        return CANDIDATE
    return row.zone


def transition_public(row: ModelTransitionRow) -> TransitionPublic:
    return TransitionPublic(
        id=row.id,
        model=row.model,
        from_zone=row.from_zone,
        to_zone=row.to_zone,
        actor=row.actor,
        policy=row.policy,
        reason=row.reason,
        figures=row.figures or {},
        created_at=row.created_at,
    )


async def move(
    session: AsyncSession,
    scope: str,
    model: str,
    to: Zone,
    actor: Actor,
    reason: str,
    *,
    policy: str | None = None,
    figures: dict[str, Any] | None = None,
    expect: Zone | None = None,
) -> ModelTransitionRow:
    """Move `model` to `to` inside the caller's transaction: the zone, the transition and
    its audit event. `Conflict` if it is already there, or (`expect`) no longer in the
    zone the move was decided on."""
    repo = LifecycleRepository(session)
    row = await repo.zone(scope, model, lock=True)
    current = zone_of(row)
    if current == to:
        raise Conflict(f"model {model!r} is already in {to}")
    if expect is not None and current != expect:
        raise Conflict(f"model {model!r} moved to {current} meanwhile (expected {expect})")
    now = utcnow()
    if row is None:
        row = ModelZoneRow(scope=scope, model=model, zone=to, since=now)
    else:
        row.zone, row.since = to, now
    repo.add(row)
    transition = ModelTransitionRow(
        id=uuid.uuid4().hex,
        scope=scope,
        model=model,
        from_zone=current,
        to_zone=to,
        actor=actor.name[:128],
        actor_key_id=actor.key_id,
        policy=policy,
        reason=reason,
        figures=figures or {},
        created_at=now,
    )
    repo.add(transition)
    try:
        await session.flush()
    except IntegrityError as exc:  # a first move of the same model committed meanwhile
        raise Conflict(f"model {model!r} was moved by someone else meanwhile: retry") from exc
    await AuditLog(session).append(
        "transitioned",
        actor,
        "model",
        transition.id,
        record_sha256=transition_digest(transition),
        before={"zone": current},
        after={
            "model": model,
            "scope": scope,
            "zone": to,
            "reason": reason,
            "policy": policy,
            "figures": figures or {},
        },
    )
    return transition


class LifecycleService:
    """Reads and admin moves of zones (policy moves go through `move` in the sweep)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def transition(
        self, scope: str, model: str, to: Zone, actor: Actor, reason: str
    ) -> TransitionPublic:
        async with self.sessions() as session:
            row = await move(session, scope, model, to, actor, reason)
            await session.commit()
        return transition_public(row)

    async def transitions(self, scope: str, model: str) -> list[TransitionPublic]:
        async with self.sessions() as session:
            rows = await LifecycleRepository(session).transitions(scope, model)
        return [transition_public(r) for r in rows]

    async def model(self, scope: str, model: str) -> ModelPublic:
        async with self.sessions() as session:
            return await self._model(session, scope, model)

    async def models(self, scope: str, seen: Sequence[str] = ()) -> list[ModelPublic]:
        """Every model with a zone in `scope`, and the `seen` ones (candidates), by name."""
        async with self.sessions() as session:
            zoned = [r.model for r in await LifecycleRepository(session).zones(scope)]
            names = sorted(set(zoned) | set(seen))
            return [await self._model(session, scope, m) for m in names]

    @staticmethod
    async def _model(session: AsyncSession, scope: str, model: str) -> ModelPublic:
        repo = LifecycleRepository(session)
        row = await repo.zone(scope, model)
        last = await repo.transitions(scope, model, limit=1)
        since: datetime | None = row.since if row is not None else None
        drift = DriftRepository(session)
        count, _ = await drift.count_since(scope, model, since)
        _, last_at = await drift.count_since(scope, model, None)
        return ModelPublic(
            model=model,
            zone=zone_of(row),
            since=since,
            last_transition=transition_public(last[-1]) if last else None,
            drift_events=count,
            last_drift_at=last_at,
        )
