"""Window statistics from per-hour pattern counts equal the item-level computation, on
SQLite and PostgreSQL: over windows that cut buckets, after a backfill of rows stored
before the counts existed, after reviews and deletions, and applied twice."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.config import PanelConfig, QuorumConfig
from api.services.stats import StatsService, WindowStats, code_matrix, verdicts_of
from api.services.window_keys import COUNTED, row_key
from api.store import Session, make_engine, make_session_factory, make_sync_engine
from api.store.audit import AuditRepository
from api.store.evaluations import EvaluationRepository
from api.store.migrate import upgrade
from api.store.tables import EvaluationRow, VoteRow, utcnow
from api.store.window import WindowRepository
from api.store.window_counts import WindowCountsRepository
from judges import JudgeConfig
from routing import JudgeCalls, panel_agreement, position_bias
from rubrics import LIBRARY_DIR, load_rubrics

RUBRICS = load_rubrics([LIBRARY_DIR])
JUDGES = ("a", "b", "c")
NOW = utcnow()


def _config() -> QuorumConfig:
    judges = {j: JudgeConfig(name=j, model="openai/x") for j in (*JUDGES, "gone")}
    panels = {
        "points": PanelConfig(name="points", rubric="helpfulness", judges=JUDGES),
        "pairs": PanelConfig(name="pairs", rubric="pairwise-preference", judges=JUDGES),
    }
    return QuorumConfig(path="test", judges=judges, panels=panels, rubrics=RUBRICS)


def _row(rng: random.Random, panel: str, created_at: datetime) -> dict[str, Any]:
    """An evaluation as the service stores it, with a random vote pattern."""
    pairwise = panel == "pairs"
    scale: list[Any] = ["A", "B", "tie"] if pairwise else [1, 2, 3, 4, 5]
    truth = rng.choice(scale)
    verdicts = []
    for judge in (*JUDGES, "gone") if rng.random() < 0.05 else JUDGES:
        value = None if rng.random() < 0.1 else (truth if rng.random() < 0.7 else rng.choice(scale))
        entry: dict[str, Any] = {"judge": judge, "value": value, "consistent": None}
        if pairwise and value is not None:
            entry["consistent"] = rng.random() < 0.7
            if not entry["consistent"]:
                entry["first_position_won"] = rng.choice([True, False, None])
        verdicts.append(entry)
    status = rng.choices(["decided", "in_review", "failed", "pending"], [80, 12, 4, 4])[0]
    human = status == "decided" and rng.random() < 0.25
    return EvaluationRow(
        id=uuid.uuid4().hex,
        kind="comparison" if pairwise else "evaluation",
        panel=panel,
        rubric_id="pairwise-preference" if pairwise else "helpfulness",
        rubric_version=1,
        status=status,
        input={},
        request_sha256="0" * 64,
        audit_draw=rng.random(),
        verdict_value=rng.choice(scale) if human else truth,
        verdict_source="human" if human else "panel",
        outcome={"judges": verdicts} if status in COUNTED else None,
        created_at=created_at,
        updated_at=created_at,
    ).model_dump()


def _votes(rng: random.Random, row: dict[str, Any]) -> list[dict[str, Any]]:
    """Stored votes of a concluded evaluation: each judge once or in both orders, some
    unscored, some failed."""
    out = []
    for judge in JUDGES:
        for order in ("AB", "BA") if row["panel"] == "pairs" else (None,):
            end = rng.choices(["ok", "unscored", "error"], [85, 10, 5])[0]
            out.append(
                VoteRow(
                    evaluation_id=row["id"],
                    judge=judge,
                    model="openai/x",
                    order=order,
                    value=None if end != "ok" else 1,
                    unscored="no_json" if end == "unscored" else None,
                    error="timeout" if end == "error" else None,
                    prompt_sha256="0" * 64,
                    latency_ms=1.0,
                    attempts=1,
                ).model_dump(exclude={"id"})
            )
    return out


def _fill(url: str, n: int, seed: int) -> int:
    """n evaluations per panel spread over the last 30 hours, with votes for the
    concluded ones, none counted yet (as rows stored before migration 0016 are)."""
    from sqlalchemy import insert

    rng = random.Random(seed)
    rows = [
        _row(rng, panel, NOW - timedelta(seconds=rng.uniform(0, 30 * 3600)))
        for panel in ("points", "pairs")
        for _ in range(n)
    ]
    votes = [v for r in rows if r["status"] in COUNTED for v in _votes(rng, r)]
    engine = make_sync_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(EvaluationRow.__table__), rows)  # type: ignore[attr-defined]
        conn.execute(insert(VoteRow.__table__), votes)  # type: ignore[attr-defined]
    engine.dispose()
    return sum(r["status"] in COUNTED for r in rows)


def _item_level(stats: StatsService, panel_name: str, since: datetime) -> dict[str, Any]:
    """The figures from every item of the window, with the routing functions."""
    panel, rubric = stats.config.panel_rubric(panel_name)
    with Session(stats.engine) as session:
        newest = WindowRepository(session).concluded(panel.name, rubric.id, since, 10**9)
        outcomes = WindowRepository(session).vote_outcomes(panel.name, since)
    rows = [(r[0], r[1], r[2]) for r in newest]
    calls: dict[str, dict[str, int]] = {}
    for judge, kind, n in outcomes:
        c = calls.setdefault(judge, {"calls": 0, "ok": 0, "unscored": 0, "errors": 0})
        c["calls"] += n
        c[{"ok": "ok", "unscored": "unscored"}.get(kind, "errors")] += n
    codes, human = code_matrix(rubric, panel.judges, rows)
    report = panel_agreement(rubric, panel.judges, codes, human, n_boot=0)
    bias = {b.judge: b for b in position_bias(verdicts_of(rows))} if panel.judges else {}
    return {
        "report": report,
        "bias": bias if rubric.mode.value == "pairwise" else {},
        "calls": {j: JudgeCalls(**c) for j, c in calls.items()},
    }


def _assert_exact(got: WindowStats, want: dict[str, Any]) -> None:
    a, b = got.agreement, want["report"]
    assert a.n_items == b.n_items and a.n_human == b.n_human
    for x, y in ((a.fleiss_kappa, b.fleiss_kappa), (a.krippendorff_alpha, b.krippendorff_alpha)):
        assert (x is None) == (y is None)
        if x is not None and y is not None:
            assert x.value == pytest.approx(y.value, abs=1e-12)
            assert x.n_items == y.n_items
    for judge in JUDGES:
        for other in JUDGES:
            assert a.cohen_kappa[judge][other] == pytest.approx(
                b.cohen_kappa[judge][other], abs=1e-12
            )
        x, y = a.human_kappa[judge], b.human_kappa[judge]
        assert (x is None) == (y is None)
        if x is not None and y is not None:
            assert x.model_dump() == pytest.approx(y.model_dump(), abs=1e-12)
    assert {p.judge: p for p in got.position} == want["bias"]
    assert got.calls == want["calls"]


def _check_windows(stats: StatsService) -> None:
    # Windows starting inside an hour bucket, on a boundary, and before every row.
    starts = [NOW - timedelta(hours=h, minutes=m) for h, m in ((0, 7), (5, 17), (29, 3))]
    boundary = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=11)
    for since in (*starts, boundary, NOW - timedelta(days=3)):
        for panel in ("points", "pairs"):
            p, rubric = stats.config.panel_rubric(panel)
            got = stats._compute(p, rubric, since)
            _assert_exact(got, _item_level(stats, panel, since))
            if since < NOW - timedelta(hours=5):  # enough items for every figure
                assert got.agreement.fleiss_kappa is not None
                assert got.agreement.krippendorff_alpha is not None
                assert all(got.agreement.human_kappa.values())
                assert got.position or panel == "points"


async def _review_and_delete(url: str, stats: StatsService) -> None:
    """Humans decide some concluded rows (twice over: idempotent), others are deleted."""
    from sqlmodel import select

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(5)
    async with sessions() as session:
        rows = (
            await session.exec(select(EvaluationRow).where(EvaluationRow.panel == "points"))
        ).all()
        counted = [r for r in rows if r.window_key is not None]
        reviewed, deleted = counted[:40], [r.id for r in counted[40:60]]
        for row in reviewed:
            row.verdict_value, row.verdict_source, row.status = (
                rng.randint(1, 5),
                "human",
                "decided",
            )
        await session.flush()
        for _ in range(2):  # the second pass finds every row already moved
            for row in reviewed:
                await session.refresh(row)
                cell = (row.panel, row.rubric_id, row.created_at)
                votes = await EvaluationRepository(session).votes(row.id)
                await WindowCountsRepository(session).recount(
                    row.id, cell, row.window_key, row_key(row, votes)
                )
        await AuditRepository(session).delete_evaluations(deleted)
        await session.commit()
    await engine.dispose()


def _run(url: str, tmp: Path) -> None:
    upgrade(url)
    concluded = _fill(url, 1500, seed=3)
    stats = StatsService(_config(), make_sync_engine(url), max_items=100)
    # Every concluded row, once (in pages of 500): a second pass finds nothing to count.
    assert asyncio.run(stats.backfill(batch=500)) == concluded
    assert asyncio.run(stats.backfill()) == 0
    _check_windows(stats)
    asyncio.run(_review_and_delete(url, stats))
    _check_windows(stats)
    points, rubric = stats.config.panel_rubric("points")
    report = stats._compute(points, rubric, NOW - timedelta(days=2))
    assert report.n_patterns < report.agreement.n_items  # patterns, not items, were read
    assert report.truncated is False
    stats.engine.dispose()


def test_counts_are_exact_on_sqlite(tmp_path: Path) -> None:
    _run(f"sqlite:///{tmp_path / 'q.db'}", tmp_path)


@pytest.mark.postgres
def test_counts_are_exact_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    _run(postgres_url, tmp_path)


def test_key_is_canonical_json() -> None:
    row = EvaluationRow(
        id="x",
        kind="evaluation",
        panel="points",
        rubric_id="helpfulness",
        rubric_version=1,
        status="decided",
        input={},
        request_sha256="0",
        audit_draw=0.5,
        verdict_value=4,
        verdict_source="human",
        outcome={"judges": [{"judge": "a", "value": 4, "votes": [1, 2]}]},
    )
    votes = [
        VoteRow(
            evaluation_id="x", judge="a", model="m", prompt_sha256="0", latency_ms=1, attempts=1
        )
    ]
    want = {"c": {"a": [1, 0, 0]}, "h": 4, "j": [["a", 4]]}
    assert row_key(row, votes) == json.dumps(want, separators=(",", ":"))
    row.status = "failed"
    assert row_key(row, votes) is None


def test_a_recount_that_lost_a_race_moves_from_the_key_the_row_holds(tmp_path: Path) -> None:
    """A review read the row before the backfill counted it (old key None); its recount
    finds the row counted under another key and moves it from there: counted once."""
    from sqlmodel import select

    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    _fill(url, 40, seed=9)
    stats = StatsService(_config(), make_sync_engine(url))

    async def review_racing_the_backfill() -> None:
        engine = make_engine(url)
        async with make_session_factory(engine)() as session:
            rows = (
                await session.exec(
                    select(EvaluationRow).where(
                        EvaluationRow.panel == "points", EvaluationRow.status == "in_review"
                    )
                )
            ).all()
            stale = [(r, r.window_key) for r in rows]  # read before the backfill: None
            await session.commit()
            assert await stats.backfill() > 0  # counts them under their panel verdicts
            for row, old in stale:
                assert old is None
                row.verdict_value, row.verdict_source, row.status = 1, "human", "decided"
                votes = await EvaluationRepository(session).votes(row.id)
                cell = (row.panel, row.rubric_id, row.created_at)
                repo = WindowCountsRepository(session)
                assert await repo.recount(row.id, cell, old, row_key(row, votes))
            await session.commit()
        await engine.dispose()

    asyncio.run(review_racing_the_backfill())
    since = NOW - timedelta(days=2)
    points, rubric = stats.config.panel_rubric("points")
    got = stats._compute(points, rubric, since)
    _assert_exact(got, _item_level(stats, "points", since))
    assert got.agreement.n_items == sum(n for n in stats._fetch(points, rubric, since)[0].values())
    stats.engine.dispose()
