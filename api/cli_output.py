"""An output file of a `quorum` command written whole or not at all: a temporary file
beside it, renamed into place on success (`replaced_on_success`); a write error is one
line (`OutputProblem`), never a traceback."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Protocol, TextIO

from api.cli_common import OutputProblem


class Sink(Protocol):
    """Where export lines go: stdout, or the file being written."""

    def write(self, text: str, /) -> int: ...


class Output:
    """A text file being written: an OSError from it (a full disk, a file size limit) is
    an `OutputProblem`, one line naming the option and the file."""

    def __init__(self, file: TextIO, flag: str, path: str | Path) -> None:
        self._file, self._flag, self._path = file, flag, path

    def write(self, text: str) -> int:
        try:
            return self._file.write(text)
        except OSError as exc:
            raise self.problem(exc) from None

    def flush(self, *, durably: bool = False) -> None:
        """What is buffered written out; `durably`: on the disk too (before a rename)."""
        try:
            self._file.flush()
            if durably:
                os.fsync(self._file.fileno())
        except OSError as exc:
            raise self.problem(exc) from None

    def problem(self, exc: OSError) -> OutputProblem:
        return OutputProblem(f"{self._flag} {self._path}: cannot write: {exc.strerror or exc}")


@contextmanager
def replaced_on_success(flag: str, path: str | Path) -> Iterator[Output]:
    """`path` written whole or not at all. The text goes to a temporary file beside it,
    renamed over it (os.replace, atomic) only when the block ends without an error; on any
    error or KeyboardInterrupt the temporary file is removed, and the file that was at
    `path`, if any, is left as it was. A symlink's target is what is replaced; a path that
    is not a regular file (a FIFO) or names one of /dev or /proc (/dev/stdout, which may
    be a redirection to a regular file) is written in place. A new file gets the
    mode `open` would give it, a replaced one keeps its own."""
    target = Path(os.path.realpath(path))
    if (
        Path(os.path.abspath(path)).parts[1:2] in (("dev",), ("proc",))
        or (target.exists() and not target.is_file())
        or os.path.ismount(target)  # a file bind-mounted into a container cannot be renamed over
    ):
        try:
            file = open(target, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise OutputProblem(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None
        out = Output(file, flag, path)
        try:
            yield out
            out.flush()
        finally:
            with suppress(OSError):
                file.close()
        return
    keep = target.stat().st_mode & 0o7777 if target.exists() else None
    temporary, fd = _temporary_beside(target, flag, path)
    try:
        file = os.fdopen(fd, "w", encoding="utf-8")
        out = Output(file, flag, path)
        try:
            yield out
            out.flush(durably=True)
        finally:  # after a failed write the buffer cannot be flushed: close regardless
            with suppress(OSError):
                file.close()
        _move(temporary, target, keep, flag, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def _move(temporary: Path, target: Path, keep: int | None, flag: str, path: str | Path) -> None:
    """The finished temporary file renamed over `target` (keeping `target`'s mode). A
    target that cannot be renamed over (a bind mount on the same file system, which
    `ismount` does not see: EBUSY; another file system: EXDEV) is copied into in place."""
    try:
        if keep is not None:
            os.chmod(temporary, keep)
        try:
            os.replace(temporary, target)
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.EXDEV):
                raise
            shutil.copyfile(temporary, target)
            os.unlink(temporary)
    except OSError as exc:
        raise OutputProblem(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None


def _temporary_beside(target: Path, flag: str, path: str | Path) -> tuple[Path, int]:
    """A new hidden file in `target`'s folder (a rename within one file system is
    atomic), created with mode 0o666 so the umask applies as for a plain `open`."""
    for _ in range(10):
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputProblem(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None
    raise OutputProblem(f"{flag} {path}: cannot create a temporary file beside it")
