"""The `quorum` command: serve, migrate, check-config."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from api import backtest
from api.config import load_config
from api.errors import ConfigError
from api.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "config", None):
        os.environ["QUORUM_CONFIG"] = str(Path(args.config).resolve())
    return Settings()


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    config = load_config(settings.config)
    print(
        f"{config.path}: ok: {len(config.judges)} judge(s), {len(config.panels)} panel(s), "
        f"{len(config.rubrics)} rubric(s)"
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from api.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.migrate import upgrade

    settings = _settings(args)
    load_config(settings.config)  # fail fast, with one line, before any worker starts
    if settings.auto_migrate:
        upgrade(settings.database_url)
        os.environ["QUORUM_AUTO_MIGRATE"] = "false"  # done once here, not per worker
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several workers: each writes its samples to this directory and /metrics merges
        # them (prometheus-client multiprocess mode). It must be empty at start.
        metrics_dir = Path(tempfile.mkdtemp(prefix="quorum-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
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

    check = sub.add_parser("check-config", help="validate the config file and exit")
    check.add_argument("--config")
    check.set_defaults(func=cmd_check_config)
    backtest.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"quorum: config error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
