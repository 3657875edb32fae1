"""Load rubric YAML files into `Rubric` models, with one-line errors naming file and key."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from pydantic import ValidationError

from rubrics.errors import RubricLoadError
from rubrics.models import Rubric

LIBRARY_DIR = Path(__file__).parent / "library"
"""The rubrics shipped with Quorum."""
PROFILES_DIR = Path(__file__).parent / "profiles"
"""The governance profiles shipped with Quorum (criteria are rubrics of the library)."""


def error_location(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a dotted key path: `panels[0].judges`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The (key path, message) of a validation error's first problem."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
    msg = err["msg"].removeprefix("Value error, ")
    return error_location(loc), msg


def open_without_waiting(path: Path) -> BinaryIO:
    """`path` opened for reading in binary. A named pipe is opened without waiting for a
    writer, so one with none reads as empty instead of blocking for ever; one with a
    writer, `<(envsubst < q.yaml)`, is read to its end as any file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _read_text(path: Path) -> str:
    with open_without_waiting(path) as f:
        return f.read().decode("utf-8")


def read_mapping(path: Path) -> tuple[dict[str, Any] | None, str, str]:
    """A YAML file's top-level mapping, or (None, key, problem) saying why it is not one."""
    try:
        data = yaml.safe_load(_read_text(path))
    except OSError as exc:
        return None, "", f"cannot read: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        return None, "", f"not UTF-8 text: byte {exc.object[exc.start]:#04x} at offset {exc.start}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        return None, where, f"invalid YAML: {getattr(exc, 'problem', exc)}"
    except RecursionError:
        return None, "", "invalid YAML: nested too deeply"
    except ValueError as exc:  # PyYAML's int() of a number of thousands of digits
        if "integer string conversion" in str(exc):
            return None, "", "invalid YAML: a number of more than 4300 digits"
        return None, "", f"invalid YAML: {exc}"
    if not isinstance(data, dict):
        return None, "", "expected a mapping at the top level"
    return data, "", ""


def load_rubric(path: Path) -> Rubric:
    """Parse and validate one rubric file."""
    data, key, problem = read_mapping(path)
    if data is None:
        raise RubricLoadError(path, key, problem)
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        key, msg = first_error(exc)
        raise RubricLoadError(path, key, msg) from exc
    if rubric.id != path.stem:
        raise RubricLoadError(
            path, "id", f"id {rubric.id!r} must match the file name {path.stem!r}"
        )
    return rubric


def load_rubrics(dirs: Iterable[Path]) -> dict[str, Rubric]:
    """Load every `*.yaml`/`*.yml` rubric in `dirs`, keyed by id; duplicate ids are an error."""
    found: dict[str, Rubric] = {}
    origin: dict[str, Path] = {}
    for directory in dirs:
        if not directory.is_dir():
            raise RubricLoadError(directory, "", "rubric directory does not exist")
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            rubric = load_rubric(path)
            if rubric.id in found:
                raise RubricLoadError(
                    path, "id", f"duplicate rubric id {rubric.id!r} (also in {origin[rubric.id]})"
                )
            found[rubric.id] = rubric
            origin[rubric.id] = path
    return found
