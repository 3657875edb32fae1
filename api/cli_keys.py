"""`quorum keys create|list|revoke`: API keys, printed once when created."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.cli_common import run_job, settings_of


def cmd_keys(args: argparse.Namespace) -> int:
    from api.services import keys

    settings = settings_of(args)
    if args.keys_command == "create":
        problem = keys.name_problem(args.name)
        if problem:
            print(f"quorum: --name: {problem}", file=sys.stderr)
            return 2
        panels = _listed(args.panels) if args.panels is not None else None
        if panels == []:
            print(
                "quorum: --panels: names no panel (omit --panels for a key that may use "
                "every panel)",
                file=sys.stderr,
            )
            return 2
        unknown = _unknown_panels(settings.config, panels)
        if unknown:
            print(f"quorum: --panels: {unknown}", file=sys.stderr)
            return 2
        scopes = _listed(args.scopes)
        try:
            key, row = run_job(
                lambda s: keys.create_key(
                    s, args.name, scopes, panels, args.rate_limit, tenant=args.tenant
                ),
                settings,
            )
        except ValueError as exc:
            print(f"quorum: {exc}", file=sys.stderr)
            return 2
        tenant = row.tenant if row.tenant is not None else "* (every tenant)"
        print(f"created key {row.id} ({row.name}; scopes {', '.join(row.scopes)}; tenant {tenant})")
        print(f"  {key}")
        print(f"webhook signing secret: {row.webhook_secret}")
        print("Store them now: the key is not shown again.")
        if args.tenant is None:
            print(
                f"quorum: note: tenant {row.tenant} is this key's own: it sees only the "
                "evaluations, reviews and exports of keys in that tenant, i.e. its own. For "
                "reviewers or an admin to see an app's evaluations, create their keys and "
                "the app's with one --tenant (e.g. --tenant acme)",
                file=sys.stderr,
            )
        return 0
    if args.keys_command == "list":
        rows = run_job(keys.list_keys, settings, creates=False)
        for r in rows:
            state = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active"
            allowed = ",".join(r.panels) if r.panels is not None else "*"
            tenant = r.tenant if r.tenant is not None else "*"
            print(
                f"{r.id}  qk_{r.prefix}_…  {_shown(r.name):<20} {','.join(r.scopes):<24} "
                f"panels={allowed}  tenant={tenant}  {state}"
            )
        if not rows:
            print("no keys: the API is open on loopback and refuses other addresses")
        elif all(r.revoked_at for r in rows):
            print("every key is revoked: the API refuses every request until a key is created")
        return 0
    revoked = run_job(lambda s: keys.revoke_key(s, args.key_id), settings, creates=False)
    if not revoked:
        print(f"quorum: no active key with id {args.key_id}", file=sys.stderr)
        return 2
    print(f"revoked {args.key_id}")
    return 0


def _listed(value: str) -> list[str]:
    """A comma-separated option's items, blanks around them and empty ones left out."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _shown(name: str) -> str:
    """A stored name with the characters `name_problem` refuses escaped (a key made
    before it refused them), so that it stays on its line; what it keeps (a Persian
    name's zero-width non-joiner) is shown as it is."""
    from api.services.keys import refused_in_name

    return "".join(
        char.encode("unicode_escape").decode("ascii") if refused_in_name(char) else char
        for char in name
    )


def _unknown_panels(config_path: Path, panels: list[str] | None) -> str:
    """What is wrong with `--panels` against the config (empty: nothing): a key for a
    misspelt panel could use none. Without a config file there is nothing to check
    against (keys may be made before it is written): said, not refused."""
    from api.config import load_config

    if not panels:
        return ""
    if not config_path.exists():
        print(f"quorum: note: --panels not checked: no config file {config_path}", file=sys.stderr)
        return ""
    known = load_config(config_path).panels
    missing = [p for p in panels if p not in known]
    if not missing:
        return ""
    return (
        f"no panel {', '.join(map(repr, missing))} in {config_path} "
        f"(its panels: {', '.join(known) or 'none'})"
    )
