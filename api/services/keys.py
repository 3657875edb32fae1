"""API keys: create (shown once, stored as a SHA-256), list, revoke."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid

from api.auth import SCOPES
from api.store import AsyncSession
from api.store.audit_log import CLI, Actor, AuditLog
from api.store.digest import key_digest
from api.store.engine import SessionFactory
from api.store.keys import KeyRepository
from api.store.tables import ApiKeyRow, utcnow

EVERY_TENANT = "*"
TENANT = re.compile(r"[A-Za-z0-9._-]{1,64}")

UNPRINTABLE = frozenset({"Cc", "Cs", "Zl", "Zp"})
"""Unicode categories refused in a key's name: controls (newline, ESC, NUL), lone
surrogates (bytes that were not UTF-8), and line and paragraph separators."""
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""The bidirectional embeddings, overrides and isolates, also refused: they reorder the
text after them on the line. Other format characters (the zero-width joiner of an emoji
sequence, the non-joiner Persian spelling needs, a soft hyphen) are kept."""


def refused_in_name(char: str) -> bool:
    """Whether a key's name may not hold `char` (`UNPRINTABLE`, `BIDI_CONTROLS`)."""
    return char in BIDI_CONTROLS or unicodedata.category(char) in UNPRINTABLE


def name_problem(name: str) -> str:
    """What is wrong with a key's name (empty: nothing). The name is the reviewer its
    decisions record, shown in `keys list`, audit events and exports: a newline, an
    escape sequence or a bidi override in it would forge or garble those lines."""
    for i, char in enumerate(name):
        if refused_in_name(char):
            return f"must not contain control characters (character {i + 1} is U+{ord(char):04X})"
    return ""


def new_key() -> tuple[str, str, str]:
    """A fresh key: (full key, prefix, sha256 hex)."""
    prefix = secrets.token_hex(4)
    key = f"qk_{prefix}_{secrets.token_urlsafe(24)}"
    return key, prefix, hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    sessions: SessionFactory,
    name: str,
    scopes: list[str],
    panels: list[str] | None,
    rate_limit_per_min: int | None,
    *,
    tenant: str | None = None,
    actor: Actor = CLI,
) -> tuple[str, ApiKeyRow]:
    """Store a new key (with its `key_created` audit event); returns the key (shown once)
    and its row. `tenant`: None gives the key a tenant of its own (its id); EVERY_TENANT
    (admin keys only) lets it see every tenant's data."""
    bad = sorted(set(scopes) - set(SCOPES))
    if bad or not scopes:
        raise ValueError(
            f"scopes must be among {', '.join(SCOPES)}; got {', '.join(bad) or 'none'}"
        )
    if not name.strip() or len(name) > 128:
        raise ValueError("a key's name (the reviewer it records) must be 1 to 128 characters")
    problem = name_problem(name)
    if problem:
        raise ValueError(f"a key's name {problem}")
    if tenant == EVERY_TENANT and "admin" not in scopes:
        raise ValueError("only admin keys may see every tenant (--tenant '*')")
    if tenant is not None and tenant != EVERY_TENANT and not TENANT.fullmatch(tenant):
        raise ValueError("a tenant is 1 to 64 letters, digits, '.', '_' or '-'")
    key_id = uuid.uuid4().hex
    key, prefix, digest = new_key()
    webhook_secret = "whsec_" + secrets.token_urlsafe(24)
    row = ApiKeyRow(
        id=key_id,
        name=name,
        tenant=None if tenant == EVERY_TENANT else (tenant or key_id),
        prefix=prefix,
        sha256=digest,
        scopes=sorted(set(scopes)),
        panels=panels,
        rate_limit_per_min=rate_limit_per_min,
        webhook_secret=webhook_secret,
        created_at=utcnow(),
    )
    async with sessions() as session:
        await KeyRepository(session).add(row)
        await _record(session, "key_created", actor, row)
        await session.commit()
    return key, row


def _public(row: ApiKeyRow) -> dict[str, object]:
    """What an audit event says about a key (never its secrets)."""
    return {
        "name": row.name,
        "prefix": row.prefix,
        "scopes": row.scopes,
        "panels": row.panels,
        "rate_limit_per_min": row.rate_limit_per_min,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


async def _record(session: AsyncSession, event: str, actor: Actor, row: ApiKeyRow) -> None:
    await session.flush()
    await AuditLog(session).append(
        event, actor, "key", row.id, record_sha256=key_digest(row), after=_public(row)
    )


async def list_keys(sessions: SessionFactory) -> list[ApiKeyRow]:
    async with sessions() as session:
        return await KeyRepository(session).all()


async def revoke_key(sessions: SessionFactory, key_id: str, actor: Actor = CLI) -> bool:
    async with sessions() as session:
        repo = KeyRepository(session)
        row = await repo.get(key_id)
        if row is None or row.revoked_at is not None:
            return False
        await repo.revoke(row)
        await _record(session, "key_revoked", actor, row)
        await session.commit()
        return True
