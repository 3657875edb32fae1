"""Load rubric YAML files into `Rubric` models, with one-line errors naming file and key.

`read_mapping` (shared by the config, profile and corpus loaders) reads YAML with the safe
loader and refuses what it would build silently: a key given twice in one mapping, an
alias bomb or a recursive alias, nesting deeper than `MAX_DEPTH`, binary and set values.
`first_error` says a pydantic error in the file's terms (a list, a mapping, null)."""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from pydantic import BaseModel, ValidationError

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


def _kind(value: object) -> str:
    """What YAML made of a value: `a boolean`, `a number`, `a date`, `a list`..."""
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    kinds: list[tuple[Any, str]] = [
        (bool, "a boolean"),
        (int | float, "a number"),
        (str, "a string"),
        (list | tuple, "a list"),
        (dict, "a mapping"),
        (datetime.date, "a date"),
    ]
    return next((k for t, k in kinds if isinstance(value, t)), f"a {type(value).__name__}")


def describe(value: object) -> str:
    """A YAML value as a person reading the file names it: `null (the key has no value)`,
    `true (a boolean)`, `'abc' (a string)`, `a list`."""
    if value is None:
        return "null (the key has no value)"
    if isinstance(value, list | tuple | dict):
        return _kind(value)
    if isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, str):
        shown = repr(value[:40])
    else:
        text = str(value) if isinstance(value, datetime.date) else repr(value)
        shown = text if len(text) <= 24 else text[:20] + "..."
    return f"{shown} ({_kind(value)})"


_QUOTE_IT = {
    bool: "YAML reads yes/no/on/off/true/false as booleans: quote it",
    int: "quote it",
    float: "quote it",
    datetime.date: "YAML reads it as a date: quote it",
    datetime.datetime: "YAML reads it as a date: quote it",
}
_LISTS = ("tuple_type", "list_type", "set_type", "frozen_set_type")
_MAPPINGS = ("dict_type", "model_type", "model_attributes_type", "dataclass_type")
_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
_SCALARS = {"bool_type": "a boolean", "int_type": "an integer", "string_type": "a string"}


def _model_names() -> set[str]:
    """Every pydantic model's class name: the tags pydantic puts in the location of an
    error inside one member of a union (`compliant.CompliantMin.min`)."""
    names: set[str] = set()
    todo = list(BaseModel.__subclasses__())
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The (key path, message) of a validation error's first problem, said in the
    file's terms: a list, a mapping, null, the value that was given."""
    errors = exc.errors()
    err = errors[0]
    tags = _model_names()
    loc = tuple(
        p
        for p in err["loc"]
        if not (isinstance(p, str) and (p.startswith("function-") or p in tags))
    )
    kind, given = err["type"], err.get("input")
    msg = err["msg"].removeprefix("Value error, ")
    members = [e for e in errors if e["type"] in _SCALARS and e["loc"][:-1] == err["loc"][:-1]]
    if kind in _SCALARS and loc and loc[-1] in ("bool", "int", "str") and len(members) > 1:
        # A scale value: one error per member of StrictBool | StrictInt | StrictStr.
        loc = loc[:-1]
        shown = ", ".join(dict.fromkeys(_SCALARS[e["type"]] for e in members))
        msg = f"expected {shown.replace(', a string', ' or a string')}, got {describe(given)}"
    elif kind in _BOUNDS and (isinstance(given, bool) or given != given):  # NaN != NaN
        msg = f"expected a number, got {describe(given)}"
    elif kind in _LISTS:
        msg = f"expected a list, got {describe(given)}"
    elif kind in _MAPPINGS:
        msg = f"expected a mapping (key: value), got {describe(given)}"
    elif kind == "string_type":
        hint = next((h for t, h in _QUOTE_IT.items() if type(given) is t), None)
        msg = f"expected a string, got {describe(given)}" + (f"; {hint}" if hint else "")
    elif kind == "string_too_short" and given == "":
        msg = "empty: give a value, or leave the key out"
    elif kind == "string_pattern_mismatch":
        msg = f"{msg}, got {given!r:.80}" + (" (empty)" if given == "" else "")
    elif kind == "invalid_key":
        loc = loc[:-1]
        msg = (
            "a key is null: give it a name"
            if given is None
            else f"key {given!r} is {_kind(given)}, not text: quote it"
        )
    return error_location(loc), " ".join(msg.split())


def bool_as_number(model: BaseModel, raw: object) -> tuple[str, str] | None:
    """The (key path, problem) of the first `true`/`false` in `raw` that validated into
    `model` as a number (pydantic reads `quorum: true` as 1), or None. `raw` is the data
    `model` was validated from."""

    def check(value: object, given: object, where: tuple[int | str, ...]) -> tuple[str, str] | None:
        if isinstance(given, bool) and type(value) in (int, float):
            return error_location(where), f"expected a number, got {describe(given)}"
        pairs: list[tuple[object, object, int | str]] = []
        if isinstance(value, BaseModel) and isinstance(given, dict):
            for name, field in type(value).model_fields.items():
                key = field.alias or name
                if key in given:
                    pairs.append((getattr(value, name), given[key], key))
        elif isinstance(value, tuple | list) and isinstance(given, list):
            pairs = [(v, g, i) for i, (v, g) in enumerate(zip(value, given, strict=False))]
        elif isinstance(value, dict) and isinstance(given, dict) and len(value) == len(given):
            items = zip(value.items(), given.values(), strict=True)
            pairs = [(v, g, str(k)) for (k, v), g in items]
        return next((p for v, g, k in pairs if (p := check(v, g, (*where, k)))), None)

    return check(model, raw, ())


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


MAX_DEPTH = 64
"""Deepest nesting of lists and mappings a file may have (configs need a handful)."""
MAX_VALUES = 1_000_000
"""Most values a file may hold once its aliases are expanded: an alias is a reference,
so `&a [*b, *b, ...]` nested ten deep is a billion values that every reader of the data
(validation, JSON encoding of judge params) would walk."""
_MERGE = "tag:yaml.org,2002:merge"
_REFUSED_TAGS = {f"tag:yaml.org,2002:{t}": t for t in ("binary", "set", "omap", "pairs")}


class _Refused(Exception):
    def __init__(self, key: str, problem: str) -> None:
        self.key, self.problem = key, problem


def _check_nodes(root: yaml.Node) -> None:
    """Refuse what PyYAML builds without complaint but no reader of the file means:
    a key given twice in one mapping (the last would win, silently), an alias to the
    node that holds it (a recursive structure), aliases that expand past `MAX_VALUES`,
    nesting past `MAX_DEPTH`, binary and set values."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node, where: tuple[int | str, ...]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise _Refused(error_location(where), "an alias refers to the value that holds it")
        if len(where) > MAX_DEPTH:
            line = node.start_mark.line + 1
            raise _Refused(
                f"{error_location(where[:6])}...",
                f"line {line}: nested too deeply (more than {MAX_DEPTH} levels)",
            )
        if node.tag in _REFUSED_TAGS:
            line = node.start_mark.line + 1
            tag = _REFUSED_TAGS[node.tag]
            raise _Refused(error_location(where), f"line {line}: !!{tag} values are not text")
        total = 1
        open_.add(key)
        if isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                total += size(child, (*where, i))
                if total > MAX_VALUES:
                    break
        elif isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else "?"
                if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE:
                    line = k.start_mark.line + 1
                    first = seen.get((k.tag, k.value))
                    if first is not None:
                        raise _Refused(
                            error_location((*where, name)),
                            f"key {name!r} given twice in one mapping (lines {first} and "
                            f"{line}): YAML would keep only the last",
                        )
                    seen[(k.tag, k.value)] = line
                total += size(k, where) + size(v, (*where, name))
                if total > MAX_VALUES:
                    break
        open_.discard(key)
        if total > MAX_VALUES:
            raise _Refused(
                error_location(where),
                f"aliases expand to more than {MAX_VALUES:,} values (an alias bomb?)",
            )
        sizes[key] = total
        return total

    size(root, ())


def _safe_load(text: str) -> Any:
    """`yaml.safe_load`, with the checks of `_check_nodes` between composing the document
    and building its Python values."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_mapping(path: Path) -> tuple[dict[str, Any] | None, str, str]:
    """A YAML file's top-level mapping, or (None, key, problem) saying why it is not one."""
    try:
        text = _read_text(path)
        data = _safe_load(text)
    except OSError as exc:
        return None, "", f"cannot read: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        return None, "", f"not UTF-8 text: byte {exc.object[exc.start]:#04x} at offset {exc.start}"
    except _Refused as exc:
        return None, exc.key, f"invalid YAML: {exc.problem}"
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        return (
            None,
            f"line {line}",
            (
                f"invalid YAML: character {exc.character:#06x} is not allowed "
                f"(offset {exc.position}): {exc.reason}"
            ),
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        said = " ".join(str(getattr(exc, "problem", None) or exc).split())
        return None, where, f"invalid YAML: {said}"
    except RecursionError:
        return None, "", "invalid YAML: nested too deeply"
    except ValueError as exc:  # PyYAML's int() of a number of thousands of digits
        if "integer string conversion" in str(exc):
            return None, "", "invalid YAML: a number of more than 4300 digits"
        return None, "", f"invalid YAML: {' '.join(str(exc).split())}"
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
