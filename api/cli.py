"""The `quorum` command: serve, migrate, keys, export, calibrate, check-config, backtest."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import ipaddress
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from api.config import load_config
from api.errors import ConfigError
from api.settings import Settings

if TYPE_CHECKING:
    from api.store.engine import SessionFactory

T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "config", None):
        os.environ["QUORUM_CONFIG"] = str(Path(args.config).resolve())
    return Settings()


def cmd_backtest(args: argparse.Namespace) -> int:
    return run_backtest(args.rest)


def run_backtest(argv: list[str]) -> int:
    """`quorum backtest ...`, parsed and run by the backtest package's own command."""
    from backtest.cli import main as backtest_main

    return backtest_main(argv)


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    config = load_config(settings.config)
    print(
        f"{config.path}: ok: {len(config.judges)} judge(s), {len(config.panels)} panel(s), "
        f"{len(config.rubrics)} rubric(s), {len(config.profiles)} profile(s)"
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from api.store.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


def _run(coro_factory: Callable[[SessionFactory], Awaitable[T]], settings: Settings) -> T:
    """Run one async database job against the configured database."""
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import upgrade

    upgrade(settings.database_url)

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            return await coro_factory(make_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_keys(args: argparse.Namespace) -> int:
    from api.services import keys

    settings = _settings(args)
    if args.keys_command == "create":
        panels = [p for p in args.panels.split(",") if p] if args.panels else None
        scopes = [s for s in args.scopes.split(",") if s]
        try:
            key, row = _run(
                lambda s: keys.create_key(s, args.name, scopes, panels, args.rate_limit), settings
            )
        except ValueError as exc:
            print(f"quorum: {exc}", file=sys.stderr)
            return 2
        print(f"created key {row.id} ({row.name}; scopes {', '.join(row.scopes)})")
        print(f"  {key}")
        print(f"webhook signing secret: {row.webhook_secret}")
        print("Store them now: the key is not shown again.")
        return 0
    if args.keys_command == "list":
        rows = _run(keys.list_keys, settings)
        for r in rows:
            state = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active"
            allowed = ",".join(r.panels) if r.panels is not None else "*"
            print(
                f"{r.id}  qk_{r.prefix}_…  {r.name:<20} {','.join(r.scopes):<24} "
                f"panels={allowed}  {state}"
            )
        if not rows:
            print("no keys: the API is open on loopback and refuses other addresses")
        return 0
    revoked = _run(lambda s: keys.revoke_key(s, args.key_id), settings)
    if not revoked:
        print(f"quorum: no active key with id {args.key_id}", file=sys.stderr)
        return 2
    print(f"revoked {args.key_id}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from api.config import load_config as load
    from api.services.audit import export_lines

    settings = _settings(args)
    config = load(settings.config)
    until = args.until or datetime.now(UTC)
    since = args.since or (until - timedelta(days=1))

    async def write(sessions: SessionFactory) -> int:
        count = 0
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
        try:
            async for line in export_lines(sessions, config, since, until, args.panel):
                out.write(line)
                count += 1
        finally:
            if args.out:
                out.close()
        return count

    n = _run(write, settings)
    print(
        f"exported {n} evaluation(s) from {since.isoformat()} to {until.isoformat()}",
        file=sys.stderr,
    )
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from api.config import load_config as load
    from api.errors import QuorumError
    from api.services.calibration import CalibrationService

    settings = _settings(args)
    config = load(settings.config)
    try:
        row = _run(
            lambda s: CalibrationService(config, s).run(
                args.panel, args.alpha, args.delta, not args.dry_run
            ),
            settings,
        )
    except QuorumError as exc:
        print(f"quorum: {exc.detail}", file=sys.stderr)
        return 2
    threshold = "none certified" if row.threshold is None else f"{row.threshold:.4f}"
    print(f"panel {row.panel} calibration v{row.version}: threshold {threshold}")
    print(
        f"  guarantee: agreement with humans >= {1 - row.alpha:.0%} "
        f"with probability >= {1 - row.delta:.0%}"
    )
    print(
        f"  coverage (decided automatically): {row.coverage:.1%} of {row.n_items} "
        f"human-reviewed items ({row.n_audit} from the random audit)"
    )
    if row.risk is not None:
        print(f"  disagreement above it: {row.risk:.3f} (upper bound {row.risk_upper:.3f})")
    print("  applied: the threshold is in force" if row.applied else "  not applied (dry run)")
    return 0


def _timestamp(text: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


M_ARENA_MAX = -8
"""glibc's mallopt parameter for the number of malloc arenas."""


def _limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas (MALLOC_ARENA_MAX, default 2 here). glibc gives each
    thread that allocates (aiosqlite's, asyncio's to_thread pool, litellm's) an arena of
    its own, up to 8 per core, and returns little of them to the system: in the load test
    the server's RSS kept growing ~9 MiB/min with the default and was flat (~3 MiB/min,
    within noise) with 2. Worker processes inherit the variable; this process, already
    started, is set with mallopt. Not glibc (musl, macOS): nothing to do."""
    value = os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(M_ARENA_MAX, int(value))
    except (AttributeError, OSError, ValueError):
        pass


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    _limit_malloc_arenas()

    from api.services import keys
    from api.store.migrate import upgrade

    settings = _settings(args)
    load_config(settings.config)  # fail fast, with one line, before any worker starts
    if settings.auto_migrate:
        upgrade(settings.database_url)
        os.environ["QUORUM_AUTO_MIGRATE"] = "false"  # done once here, not per worker
    active = [k for k in _run(keys.list_keys, settings) if k.revoked_at is None]
    if not active and not _is_loopback(args.host):
        print(
            f"quorum: refusing to serve on {args.host} with no API key: anyone could use it. "
            "Create one with `quorum keys create --name NAME --scopes evaluate,review,admin`, "
            "or bind to 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several workers: each writes its samples to this directory and /metrics merges
        # them (prometheus-client multiprocess mode). It must be empty at start.
        metrics_dir = Path(tempfile.mkdtemp(prefix="quorum-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # A worker imports the whole app before it answers uvicorn's health ping; on a
        # busy 2-core machine or a small pod that can take longer than the default 5 s.
        timeout_worker_healthcheck=60,
        log_level=settings.log_level,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quorum", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the API server")
    serve.add_argument(
        "--config", help="judges-and-panels YAML (default: $QUORUM_CONFIG or ./quorum.yaml)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--config")
    migrate.set_defaults(func=cmd_migrate)

    keys = sub.add_parser("keys", help="create, list or revoke API keys")
    keys.add_argument("--config")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--scopes", default="evaluate", help="comma-separated: evaluate,review,admin"
    )
    create.add_argument("--panels", help="comma-separated panels the key may use (default: all)")
    create.add_argument("--rate-limit", type=int, help="requests per minute for this key")
    keys_sub.add_parser("list", help="list keys (never their secrets)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)

    export = sub.add_parser("export", help="write the audit trail of a time range as JSONL")
    export.add_argument("--config")
    export.add_argument("--since", type=_timestamp, help="ISO time (default: until - 1 day)")
    export.add_argument("--until", type=_timestamp, help="ISO time (default: now)")
    export.add_argument("--panel", help="only this panel (the file then replays in backtest)")
    export.add_argument("--out", help="file to write (default: stdout)")
    export.set_defaults(func=cmd_export)

    cal = sub.add_parser("calibrate", help="calibrate a panel's confidence threshold")
    cal.add_argument("panel")
    cal.add_argument("--alpha", type=float, default=0.1, help="tolerated disagreement rate")
    cal.add_argument("--delta", type=float, default=0.1, help="allowed failure probability")
    cal.add_argument("--dry-run", action="store_true", help="compute and store, do not apply")
    cal.add_argument("--config")
    cal.set_defaults(func=cmd_calibrate)

    check = sub.add_parser("check-config", help="validate the config file and exit")
    check.add_argument("--config")
    check.set_defaults(func=cmd_check_config)
    # The backtest pulls in the statistics stack: it is imported only when used, so the
    # other commands start fast. Its own parser handles its options and --help.
    bt = sub.add_parser(
        "backtest",
        add_help=False,
        help="replay recorded judge votes with human labels through Quorum's routing code",
    )
    bt.add_argument("rest", nargs=argparse.REMAINDER)
    bt.set_defaults(func=cmd_backtest)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["backtest"]:  # its options (and --help) belong to its own parser
        return run_backtest(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"quorum: config error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # QUORUM_* settings
        err = exc.errors()[0]
        name = "QUORUM_" + "_".join(str(p) for p in err["loc"][:1]).upper()
        print(f"quorum: setting {name}: {err['msg']}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
