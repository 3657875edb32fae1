"""The `quorum` command: serve, migrate, keys, export, audit, calibrate, check-config,
check-judges, qualify, backtest."""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from api.cli_audit import cmd_audit, cmd_export, timestamp
from api.cli_calibrate import cmd_calibrate
from api.cli_common import OutputProblem, SettingsProblem, run_command, run_job, settings_of
from api.cli_keys import cmd_keys
from api.cli_qualify import add_parser as add_qualify
from api.errors import ConfigError, QuorumError
from api.logs import configure_logging

# The config and the judges pull in the statistics stack (scipy, the jury model: about
# 1.3 s of imports on a 2-core machine); the commands that need them import them when
# they run, so `quorum --version`, `keys`, `audit` and `migrate` start fast.


def cmd_backtest(args: argparse.Namespace) -> int:
    return run_backtest(args.rest)


def run_backtest(argv: list[str]) -> int:
    """`quorum backtest ...`, parsed and run by the backtest package's own command."""
    from backtest.cli import main as backtest_main

    return backtest_main(argv)


def cmd_check_judges(args: argparse.Namespace) -> int:
    from api.cli_judges import cmd_check_judges as check_judges

    return check_judges(args)


def cmd_check_config(args: argparse.Namespace) -> int:
    from api.config import load_config

    settings = settings_of(args)
    config = load_config(settings.config)
    print(
        f"{config.path}: ok: {len(config.judges)} judge(s), {len(config.panels)} panel(s), "
        f"{len(config.rubrics)} rubric(s), {len(config.profiles)} profile(s)"
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from api.store.migrate import upgrade

    settings = settings_of(args)
    newer = upgrade(settings.database_url)
    if newer is not None:  # a rollback: the newer release's schema is kept, as it must be
        print(f"database schema is at {newer}, newer than this Quorum: left as it is")
    else:
        print("database schema is up to date")
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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

    from api.config import load_config
    from api.services import keys
    from api.serving import listen_problem, uvicorn_options
    from api.store.migrate import upgrade

    settings = settings_of(args)
    load_config(settings.config)  # fail fast, with one line, before any worker starts
    if settings.auto_migrate:
        upgrade(settings.database_url)
        os.environ["QUORUM_AUTO_MIGRATE"] = "false"  # done once here, not per worker
    if settings.auth == "off" and not _is_loopback(args.host):
        print(
            f"quorum: refusing to serve on {args.host} with QUORUM_AUTH=off: anyone could use "
            "it. Bind to 127.0.0.1, or unset QUORUM_AUTH and use API keys.",
            file=sys.stderr,
        )
        return 2
    created = run_job(keys.list_keys, settings, creates=False)
    if settings.auth == "auto" and not created and not _is_loopback(args.host):
        print(
            f"quorum: refusing to serve on {args.host} with no API key: anyone could use it. "
            "Create one with `quorum keys create --name NAME --scopes evaluate,review,admin`, "
            "or bind to 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    refused = listen_problem(args.host, args.port, dual_stack=args.workers > 1)
    if refused:
        print(f"quorum: cannot listen on {args.host}:{args.port}: {refused}", file=sys.stderr)
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
        **uvicorn_options(settings),
    )
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quorum")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from `low` to `high` (argparse says which option)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quorum", description=__doc__)
    parser.add_argument("--version", action="version", version=f"quorum {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    config_help = "judges-and-panels YAML (default: $QUORUM_CONFIG or ./quorum.yaml)"

    serve = sub.add_parser("serve", help="start the API server")
    serve.add_argument(
        "--config", help="judges-and-panels YAML (default: $QUORUM_CONFIG or ./quorum.yaml)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind; any but loopback needs an API key (default: %(default)s)",
    )
    serve.add_argument(
        "--port", type=_int_in(0, 65535), default=8000, help="TCP port (default: %(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=_int_in(1, 256),
        default=1,
        help="worker processes, metrics merged across them (default: %(default)s)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--config")
    migrate.set_defaults(func=cmd_migrate)

    keys = sub.add_parser("keys", help="create, list or revoke API keys")
    keys.add_argument("--config", help=config_help)
    # --config is accepted after the subcommand too (`keys create --config F`); SUPPRESS
    # keeps a value given before it when the subcommand has none.
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--config", default=argparse.SUPPRESS, help=config_help)
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", parents=[after], help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--scopes", default="evaluate", help="comma-separated: evaluate,review,admin"
    )
    create.add_argument(
        "--panels",
        help="comma-separated panels the key may use, at least one (leave it out: all)",
    )
    create.add_argument(
        "--rate-limit",
        type=_int_in(0, 2**31 - 1),  # a PostgreSQL integer; -1 was taken as unlimited
        help="requests per minute for this key",
    )
    create.add_argument(
        "--tenant",
        help="whose data the key reads and writes (default: a tenant of its own, named by the "
        "key's id; several keys may share one); '*' (admin keys only): every tenant's",
    )
    keys_sub.add_parser("list", parents=[after], help="list keys (never their secrets)")
    revoke = keys_sub.add_parser("revoke", parents=[after], help="revoke a key by id")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)

    export = sub.add_parser("export", help="write the audit trail of a time range as JSONL")
    export.add_argument("--config")
    export.add_argument("--since", type=timestamp, help="ISO time (default: until - 1 day)")
    export.add_argument("--until", type=timestamp, help="ISO time (default: now)")
    export.add_argument("--panel", help="only this panel (the file then replays in backtest)")
    export.add_argument(
        "--subject-model", help="only evaluations whose subject.model (the judged model) is this"
    )
    export.add_argument("--use-case", help="only evaluations of this governance use case")
    export.add_argument("--out", help="file to write (default: stdout)")
    export.add_argument(
        "--stream",
        choices=("records", "events"),
        default="records",
        help="records: one line per evaluation (replays in backtest); events: the audit events",
    )
    export.set_defaults(func=cmd_export)

    audit = sub.add_parser("audit", help="check the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    check_trail = audit_sub.add_parser(
        "verify", help="recompute the hash chain and compare every record with its last event"
    )
    check_trail.add_argument("--config")
    check_trail.add_argument(
        "--since", type=timestamp, help="check events from this ISO time on (default: all)"
    )
    check_trail.set_defaults(func=cmd_audit)

    cal = sub.add_parser("calibrate", help="calibrate a panel's confidence threshold")
    cal.add_argument("panel")
    cal.add_argument(
        "--alpha", type=float, default=0.1, help="tolerated disagreement rate (default: 0.1)"
    )
    cal.add_argument(
        "--delta", type=float, default=0.1, help="allowed failure probability (default: 0.1)"
    )
    action = cal.add_mutually_exclusive_group()
    action.add_argument(
        "--apply",
        action="store_true",
        help="put the threshold in force (only a certified one is ever applied)",
    )
    action.add_argument(
        "--dry-run",
        action="store_true",
        help="compute and store, do not apply (the default)",
    )
    action.add_argument(
        "--reset",
        action="store_true",
        help="put the configured routing.min_confidence back in force (the undo)",
    )
    cal.add_argument("--config")
    cal.set_defaults(func=cmd_calibrate)

    check = sub.add_parser("check-config", help="validate the config file and exit")
    check.add_argument("--config", help=config_help)
    check.set_defaults(func=cmd_check_config)

    judges = sub.add_parser(
        "check-judges",
        help="check each judge's key and endpoint (a one-token call) and each panel's quorum",
    )
    judges.add_argument("--config", help=config_help)
    judges.set_defaults(func=cmd_check_judges)
    add_qualify(sub)
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
    configure_logging()
    argv = sys.argv[1:] if argv is None else argv
    return run_command(lambda: _run(argv))


def _run(argv: list[str]) -> int:
    if argv[:1] == ["backtest"]:  # its options (and --help) belong to its own parser
        return run_backtest(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"quorum: config error: {exc}", file=sys.stderr)
        return 2
    except SettingsProblem as exc:
        print(f"quorum: settings error: {exc}", file=sys.stderr)
        return 2
    except OutputProblem as exc:
        print(f"quorum: {exc}", file=sys.stderr)
        return 2
    except QuorumError as exc:  # e.g. an unknown panel
        print(f"quorum: {exc.detail}", file=sys.stderr)
        return 2
    except Exception as exc:
        from api.store import database_problem

        problem = database_problem(
            exc, os.environ.get("QUORUM_DATABASE_URL", "sqlite:///quorum.db")
        )
        if problem is None:
            raise
        print(f"quorum: database error: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
