"""What every `quorum` command shares: settings read with one-line errors, and running one
async database job."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError
from pydantic_settings import SettingsError

from api.settings import Settings

if TYPE_CHECKING:
    from api.store.engine import SessionFactory

T = TypeVar("T")


class SettingsProblem(Exception):
    """A QUORUM_* variable is invalid; the message is one line: the variable, the problem."""


class OutputProblem(Exception):
    """An output file asked for cannot be written; the message is one line."""


def check_output(flag: str, path: Path | str | None) -> None:
    """Refuse, before any work, an output path that cannot be written: a command must not
    end, after its work (or, for `qualify`, after its policy step), unable to save it."""
    if path is None:
        return
    out = Path(path)
    folder = out.parent
    if out.is_dir():
        raise OutputProblem(f"{flag} {out}: is a directory")
    if not folder.is_dir():
        raise OutputProblem(f"{flag} {out}: no such directory {folder}")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise OutputProblem(f"{flag} {out}: not writable")


def settings_of(args: argparse.Namespace) -> Settings:
    if getattr(args, "config", None):
        # abspath, not resolve(): a symlink loop is the config's problem, said when read.
        os.environ["QUORUM_CONFIG"] = os.path.abspath(args.config)
    return load_settings()


def load_settings() -> Settings:
    """The settings from the environment; SettingsProblem (one line) when one is invalid."""
    try:
        return Settings()
    except SettingsError as exc:  # a list or mapping setting that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        name = "QUORUM_" + (found.group(1).upper() if found else "?")
        raise SettingsProblem(f'{name}: not valid JSON (a list is written ["a", "b"])') from None
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "QUORUM_" + "_".join(str(p) for p in err["loc"][:1]).upper()
        raise SettingsProblem(f"{name}: {err['msg'].removeprefix('Value error, ')}") from None


def run_job(coro_factory: Callable[[SessionFactory], Awaitable[T]], settings: Settings) -> T:
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
