"""What every `quorum` command shares: settings read with one-line errors, running one
async database job, and ending with a line and an exit code, never a traceback, when the
user interrupts it or its output cannot be written."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import re
import sys
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


OUTPUT_FAILURES = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}
"""The errors of a write that failed for want of room or a working device (`> /dev/full`)."""


def run_command(command: Callable[[], int]) -> int:
    """`command()`'s exit code, its output flushed; Ctrl-C is `quorum: interrupted` and
    130 (128 + SIGINT, as a shell reports it). A reader that went away (`quorum keys list
    | head -1`) ends the command quietly with 141 (128 + SIGPIPE: what `pipefail` sees of
    a tool killed by the signal; the recipe in Python's `signal` docs exits 1), an output
    that cannot be written (a full disk) is one line and 2. Either way stdout is pointed
    at /dev/null, so that Python's flush at exit does not fail again."""
    try:
        code = command()
        sys.stdout.flush()  # a closed pipe or a full disk is said here, not at exit
        return code
    except KeyboardInterrupt:
        print("quorum: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return 141
    except OSError as exc:
        if exc.errno not in OUTPUT_FAILURES:
            raise
        _drop_stdout()
        print(f"quorum: cannot write the output: {exc.strerror}", file=sys.stderr)
        return 2


def _drop_stdout() -> None:
    with open(os.devnull, "wb") as devnull, contextlib.suppress(OSError, ValueError):
        os.dup2(devnull.fileno(), sys.stdout.fileno())  # none: stdout is not a file


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


def run_job(
    coro_factory: Callable[[SessionFactory], Awaitable[T]],
    settings: Settings,
    *,
    creates: bool = True,
) -> T:
    """Run one async database job against the configured database, its schema checked
    first. A job that `creates` (`keys create` on a fresh machine) may start a new
    database, whatever QUORUM_AUTO_MIGRATE says: an empty database has nothing to
    protect, and in the Compose first run the key's container (auto-migrate off) may get
    there before the `migrate` container, which then waits and finds the schema at head.
    A job that does not (a read, or a write to what must already be there) refuses a
    missing one: a mistyped path would otherwise become an empty database, and the job
    report nothing found. An existing schema behind head is migrated only with
    QUORUM_AUTO_MIGRATE on; with it off it must be at head."""
    from api.store.engine import make_engine, make_session_factory
    from api.store.migrate import ensure_schema

    ensure_schema(settings.database_url, create=creates, migrate=settings.auto_migrate)

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            return await coro_factory(make_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())
