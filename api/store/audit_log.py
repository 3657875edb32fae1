"""The audit event log: append-only, one hash chain, written in the caller's transaction.

Each event holds a sequence number (1, 2, 3... no gaps), its time, the actor (key id and
principal name, or "system", "worker", "cli"), the subject (evaluation, review, key,
calibration, panel, export) and its id, before/after values, the SHA-256 of the subject's
record just after the event (`api.store.digest`) and the chain: `prev_hash` is the
previous event's `hash`, and `hash` is the SHA-256 of the event's canonical JSON with
`prev_hash` in it. Changing, inserting or deleting an event breaks a link that
`quorum audit verify` names.

Concurrency: appends to the chain are serialised. PostgreSQL: a transaction-scoped
advisory lock taken before reading the chain's head and held to commit (so append last,
just before committing, to hold it briefly); SQLite: the database's one write lock,
held from the transaction's first write (the change being recorded, or else a write
that changes nothing) before the head is read. Either way `seq` is the primary key, so two
writers that somehow read the same head cannot both commit: the chain never forks.
After the first append of a transaction the head is kept in memory: further events of
the same transaction cost one INSERT each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from api.store.digest import canonical_json, sha256_of
from api.store.tables import AuditEventRow, utcnow

GENESIS = "0" * 64
"""The `prev_hash` of the first event."""
CHAIN_LOCK = 0x71756F72756D_A0
"""The PostgreSQL advisory lock key of the chain."""
EVENTS: Table = AuditEventRow.__table__  # type: ignore[attr-defined]

LOCK_PG = text("SELECT pg_advisory_xact_lock(:k)")
LOCK_SQLITE = text("UPDATE audit_events SET seq = seq WHERE seq < 0")
"""A write that changes nothing, to take SQLite's write lock before the head is read
when the transaction has not written yet (the driver would otherwise read the head
outside any transaction)."""
HEAD = select(EVENTS.c.seq, EVENTS.c.hash).order_by(EVENTS.c.seq.desc()).limit(1)

CONTENT = (
    "seq",
    "at",
    "event",
    "actor_key_id",
    "actor",
    "subject_type",
    "subject_id",
    "evaluation_id",
    "panel",
    "before",
    "after",
    "record_sha256",
    "prev_hash",
)
"""The fields an event's hash covers."""


@dataclass(frozen=True)
class Actor:
    """Who did it: an API key (id and principal name), or a part of Quorum by name."""

    key_id: str | None
    name: str


SYSTEM = Actor(None, "system")
WORKER = Actor(None, "worker")
CLI = Actor(None, "cli")


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat()


def event_hash(values: dict[str, Any]) -> str:
    """The hash of an event (a row's values or the dict being inserted)."""
    content: dict[str, Any] = {name: values.get(name) for name in CONTENT}
    content["at"] = _iso(values["at"])
    return sha256_of(content)


def _json(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """As the JSON column will give it back (so the hash is the same before and after)."""
    return None if value is None else json.loads(canonical_json(value))


async def _sqlite_writing(conn: AsyncConnection) -> bool:
    """Whether this SQLite connection already holds the write lock: the driver begins a
    transaction only at the first write, so an open one has written."""
    raw = await conn.get_raw_connection()
    return bool(getattr(raw.driver_connection, "in_transaction", False))


class AuditLog:
    """Appends events to the chain inside one session's transaction (never commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._head: tuple[int, str] | None = None

    async def _read_head(self) -> tuple[int, str]:
        session = self.session
        if session.new or session.dirty or session.deleted:
            await session.flush()  # the change this event records goes first
        conn = await session.connection()
        if conn.dialect.name == "postgresql":
            await conn.execute(LOCK_PG, {"k": CHAIN_LOCK})
        elif not await _sqlite_writing(conn):
            await conn.execute(LOCK_SQLITE)
        last = (await conn.execute(HEAD)).first()
        return (0, GENESIS) if last is None else (int(last[0]), str(last[1]))

    async def append(
        self,
        event: str,
        actor: Actor,
        subject_type: str,
        subject_id: str,
        *,
        record_sha256: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        evaluation_id: str | None = None,
        panel: str | None = None,
    ) -> dict[str, Any]:
        """Add one event after the chain's head; returns its values (hash included)."""
        if self._head is None:
            self._head = await self._read_head()
        seq, prev = self._head
        values: dict[str, Any] = {
            "seq": seq + 1,
            "at": utcnow(),
            "event": event,
            "actor_key_id": actor.key_id,
            "actor": actor.name[:128],
            "subject_type": subject_type,
            "subject_id": subject_id,
            "evaluation_id": evaluation_id,
            "panel": panel,
            "before": _json(before),
            "after": _json(after),
            "record_sha256": record_sha256,
            "prev_hash": prev,
        }
        values["hash"] = event_hash(values)
        conn = await self.session.connection()
        await conn.execute(insert(EVENTS), [values])
        self._head = (values["seq"], values["hash"])
        return values
