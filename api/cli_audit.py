"""`quorum export` (stored records or audit events as JSON lines) and `quorum audit
verify` (the audit chain and every record it pins)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli_common import check_output, run_job, settings_of
from api.cli_output import Sink, replaced_on_success

if TYPE_CHECKING:
    from api.config import QuorumConfig
    from api.store.engine import SessionFactory


def cmd_export(args: argparse.Namespace) -> int:
    from api.config import load_config as load
    from api.services.audit import export_lines, record_exported
    from api.store.audit_log import CLI

    if args.stream == "events" and (args.subject_model or args.use_case):
        print(
            "quorum: --subject-model and --use-case filter --stream records only", file=sys.stderr
        )
        return 2
    check_output("--out", args.out)
    settings = settings_of(args)
    clash = _is_the_database(args.out, settings.database_url)
    if clash:
        print(f"quorum: --out {args.out}: {clash}", file=sys.stderr)
        return 2
    config = load(settings.config)
    until = args.until or datetime.now(UTC)
    since = args.since or (until - timedelta(days=1))
    if since >= until:  # as the REST export: an empty window is a mistake, not 0 lines
        print(
            f"quorum: --since {since.isoformat()} must be before --until {until.isoformat()}",
            file=sys.stderr,
        )
        return 2
    subject = {"subject_model": args.subject_model, "use_case": args.use_case}
    filters = {"panel": args.panel, **subject} if args.stream == "records" else {}

    async def write(sessions: SessionFactory, out: Sink) -> tuple[int, list[str]]:
        count = 0
        await record_exported(sessions, CLI, since, until, args.panel, args.stream, **subject)
        lines = export_lines(
            sessions, config, since, until, args.panel, stream=args.stream, **subject
        )
        async for line in lines:
            out.write(line)
            count += 1
        notes = await _unmatched(sessions, config, filters) if count == 0 else []
        return count, notes

    if args.out:
        # Written whole or not at all: an interrupted or failed export leaves the file
        # that was there (if any) as it was, and no partial one.
        with replaced_on_success("--out", args.out) as out:
            n, notes = run_job(lambda s: write(s, out), settings, creates=False)
    else:
        n, notes = run_job(lambda s: write(s, sys.stdout), settings, creates=False)
    for note in notes:
        print(f"quorum: note: {note}", file=sys.stderr)
    what = "evaluation(s)" if args.stream == "records" else "audit event(s)"
    # A panel no longer configured may still have records to export: a note, not a refusal.
    gone = (
        f" (panel {args.panel!r} is not in {config.path})"
        if args.panel and args.panel not in config.panels
        else ""
    )
    print(
        f"exported {n} {what} from {since.isoformat()} to {until.isoformat()}{gone}",
        file=sys.stderr,
    )
    return 0


FILTERED = {"panel": "panel", "subject_model": "subject model", "use_case": "use case"}
"""The record filters of `quorum export` (evaluation columns), as a note names them."""
SHOWN = 10
"""Known values a note lists at most."""


async def _unmatched(
    sessions: SessionFactory, config: QuorumConfig, filters: dict[str, str | None]
) -> list[str]:
    """After an export that matched nothing: a note for each filter whose value no stored
    evaluation has at all (a misspelt use case, not an empty window), with the values that
    are stored. Not a refusal: a use case the config's policies name, or a new panel, may
    have no evaluation yet, and an export run on a schedule must not fail then."""
    from api.store.audit import AuditRepository

    asked = {name: value for name, value in filters.items() if value is not None}
    named = {
        "panel": set(config.panels),
        "use_case": {p.use_case for p in config.policies if p.use_case},
    }
    notes = []
    async with sessions() as session:
        for name, value in asked.items():
            stored = await AuditRepository(session).distinct(name)
            if value in stored:
                continue
            yet = " yet" if value in named.get(name, set()) else ""
            shown = ", ".join(stored[:SHOWN]) or "none"
            more = f" and {len(stored) - SHOWN} more" if len(stored) > SHOWN else ""
            notes.append(
                f"no evaluation has {FILTERED[name]} {value!r}{yet} (known: {shown}{more})"
            )
    return notes


def _is_the_database(out: str | None, database_url: str) -> str:
    """Why `out` must not be written (empty: it may): it is the SQLite database itself,
    or its WAL or shared-memory file. Writing the export there truncated the database."""
    from api.store.engine import sqlite_path

    db = sqlite_path(database_url)
    if out is None or db is None:
        return ""
    target = Path(out).resolve()
    for suffix in ("", "-wal", "-shm", "-journal"):
        if target == Path(f"{db}{suffix}").resolve():
            return f"is the database{' (its ' + suffix[1:] + ' file)' if suffix else ''}"
    return ""


def cmd_audit(args: argparse.Namespace) -> int:
    """`quorum audit verify`: exit 1 when the chain or any record fails the check."""
    from api.services.audit_verify import verify

    settings = settings_of(args)
    report = run_job(lambda s: verify(s, args.since), settings, creates=False)
    for finding in report.findings:
        print(finding)
    summary = (
        f"audit: {report.events} event(s) and {report.records} record(s) checked, "
        f"{len(report.findings)} finding(s)"
    )
    if report.predating:
        summary += f"; {report.predating} record(s) predate the audit trail (not covered)"
    print(summary, file=sys.stderr)
    return 0 if report.ok else 1


def timestamp(text: str) -> datetime:
    """An ISO 8601 time given on the command line (UTC when it names no zone)."""
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from exc
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    try:
        return ts.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first UTC time
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC equivalent (out of range)") from None
