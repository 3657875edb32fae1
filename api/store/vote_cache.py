"""Backends of the exact-duplicate vote cache (`QUORUM_VOTE_CACHE`): database or Redis,
wrapped to count hits and misses in `quorum_vote_cache_requests_total`."""

from __future__ import annotations

import logging
from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from api.metrics import Metrics
from api.store.engine import SessionFactory
from api.store.tables import VoteCacheRow, utcnow
from judges import ChatResult, VoteCache

log = logging.getLogger("quorum.cache")


class DatabaseVoteCache:
    """Cached answers in the `vote_cache` table, shared by every replica."""

    def __init__(self, sessions: SessionFactory, ttl_s: int) -> None:
        self.sessions = sessions
        self.ttl = timedelta(seconds=ttl_s)

    async def get(self, key: str) -> ChatResult | None:
        async with self.sessions() as session:
            row = await session.get(VoteCacheRow, key)
        if row is None or row.created_at < utcnow() - self.ttl:
            return None
        return ChatResult.model_validate(row.result)

    async def put(self, key: str, result: ChatResult) -> None:
        async with self.sessions() as session:
            existing = await session.get(VoteCacheRow, key)
            if existing is not None:
                existing.result = result.model_dump(mode="json")
                existing.created_at = utcnow()
                session.add(existing)
            else:
                session.add(VoteCacheRow(key=key, result=result.model_dump(mode="json")))
            try:
                await session.commit()
            except IntegrityError:  # a concurrent twin stored it first: same answer, fine
                await session.rollback()


class RedisVoteCache:
    """Cached answers in Redis, expiring after the TTL."""

    def __init__(self, url: str, ttl_s: int) -> None:
        self.redis = Redis.from_url(url)
        self.ttl_s = ttl_s

    async def get(self, key: str) -> ChatResult | None:
        raw = await self.redis.get(f"quorum:vote:{key}")
        return ChatResult.model_validate_json(raw) if raw else None

    async def put(self, key: str, result: ChatResult) -> None:
        await self.redis.set(f"quorum:vote:{key}", result.model_dump_json(), ex=self.ttl_s)

    async def close(self) -> None:
        await self.redis.aclose()


class CountedCache:
    """Counts hits and misses; a failing cache is a miss, never a failed evaluation."""

    def __init__(self, inner: VoteCache, metrics: Metrics, backend: str) -> None:
        self.inner = inner
        self.metrics = metrics
        self.backend = backend

    async def get(self, key: str) -> ChatResult | None:
        try:
            found = await self.inner.get(key)
        except (RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("vote cache (%s) unavailable: %s", self.backend, exc)
            found = None
        self.metrics.cache.labels(self.backend, "hit" if found else "miss").inc()
        return found

    async def put(self, key: str, result: ChatResult) -> None:
        try:
            await self.inner.put(key, result)
        except (RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("vote cache (%s) could not store: %s", self.backend, exc)
