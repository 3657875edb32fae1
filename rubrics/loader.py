"""Load rubric YAML files into `Rubric` models, with one-line errors naming file and key.

`read_mapping` (shared by the config, profile and corpus loaders) reads YAML with the safe
loader and refuses what it would build silently: a key given twice in one mapping, an
alias bomb or a recursive alias, nesting deeper than `MAX_DEPTH`, binary and set values.
`first_error` says a pydantic error in the file's terms (a list, a mapping, null);
`printable` escapes what would garble a message's line."""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from pydantic import BaseModel, ValidationError

from rubrics.errors import RubricLoadError
from rubrics.models import Rubric, value_key

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


def printable(text: str) -> str:
    """`text` with each character that is not printable (a control, a format character
    such as a bidi override, a lone surrogate, a line separator) escaped as `repr` writes
    it (`\\n`, `\\x1b`, `\\u202e`), so that a message shows it and stays on its line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def describe(value: object) -> str:
    """A YAML value as a person reading the file names it: `null (the key has no value)`,
    `true (a boolean)`, `'abc' (a string)`, `a list`. A string is shown by `repr`, which
    quotes it and escapes the characters `printable` escapes, the same way."""
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


def _in_input(loc: tuple[int | str, ...], kind: str, data: object) -> tuple[int | str, ...]:
    """The parts of an error's location that are keys or indices of `data`, the validated
    input, walked from its top; the others are pydantic's tags for the member of a union
    the error is in (`compliant.CompliantMin.min`, `scale.0.int`). A key also matches as
    its text (`value_key`: validators key anchors and thresholds by it); the name of a
    missing field, an invalid key, or a field whose validator refused its default (a
    profile's `criteria`), last, is kept."""
    kept: list[int | str] = []
    for i, part in enumerate(loc):
        if isinstance(data, dict):
            found = [v for k, v in data.items() if part in (k, value_key(k))]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            found = [data[part]]
        else:
            found = []
        if found:
            kept.append(part)
            data = found[0]
        elif i == len(loc) - 1 and (
            kind in ("missing", "invalid_key")
            or (kind == "value_error" and re.fullmatch(r"[a-z_][a-z0-9_]*", str(part)))
        ):  # a field absent from the input whose validator refused its default
            kept.append(part)
    return tuple(kept)


def first_error(exc: ValidationError, data: dict[str, Any] | None = None) -> tuple[str, str]:
    """The (key path, message) of a validation error's first problem, said in the file's
    terms: a list, a mapping, null, the value that was given. Given `data`, the mapping
    that was validated, the path leaves out pydantic's union-member tags (`_in_input`);
    without it, it is the location as pydantic gave it."""
    errors = exc.errors()
    err = errors[0]
    kind, given = err["type"], err.get("input")
    loc = err["loc"] if data is None else _in_input(err["loc"], kind, data)
    msg = err["msg"].removeprefix("Value error, ")
    members = [e for e in errors if e["type"] in _SCALARS and e["loc"][:-1] == err["loc"][:-1]]
    if kind in _SCALARS and err["loc"][-1] in ("bool", "int", "str") and len(members) > 1:
        # A scale value: one error per member of StrictBool | StrictInt | StrictStr.
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


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing while it composes the document what it would build
    without complaint but no reader of the file means: a key given twice in one mapping
    (the last would win, silently), an alias to the value that holds it (a recursive
    structure), aliases that expand past `MAX_VALUES`, nesting past `MAX_DEPTH`, binary
    and set values."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.where: list[int | str] = []
        """The key path of the node being composed."""
        self.sizes: dict[int, int] = {}
        """Values in each node composed so far (by id), its aliases expanded."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # `index`: an item's index or a mapping value's key node; None: a key, the document.
        if isinstance(index, int):
            self.where.append(index)
        elif index is not None:
            self.where.append(index.value if isinstance(index, yaml.ScalarNode) else "?")
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self.sizes:
                raise _Refused(self._at(), "an alias refers to the value that holds it")
        elif len(self.where) > MAX_DEPTH:
            raise _Refused(
                f"{error_location(tuple(self.where[:6]))}...",
                f"line {event.start_mark.line + 1}: nested too deeply (more than {MAX_DEPTH} "
                "levels)",
            )
        elif event.tag in _REFUSED_TAGS:
            tag = _REFUSED_TAGS[event.tag]
            raise _Refused(
                self._at(), f"line {event.start_mark.line + 1}: !!{tag} values are not text"
            )
        node = super().compose_node(parent, index)
        if node is not None and id(node) not in self.sizes:  # not an alias: count its values
            children = node.value if isinstance(node, yaml.SequenceNode) else []
            if isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            size = self.sizes[id(node)] = 1 + sum(self.sizes[id(n)] for n in children)
            if size > MAX_VALUES:
                raise _Refused(
                    self._at(),
                    f"aliases expand to more than {MAX_VALUES:,} values (an alias bomb?)",
                )
        if index is not None:
            self.where.pop()
        return node

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
                line, first = key.start_mark.line + 1, seen.get((key.tag, key.value))
                if first is not None:
                    raise _Refused(
                        error_location((*self.where, key.value)),
                        f"key {key.value!r} given twice in one mapping (lines {first} and "
                        f"{line}): YAML would keep only the last",
                    )
                seen[(key.tag, key.value)] = line
        return node

    def _at(self) -> str:
        return error_location(tuple(self.where))


def read_mapping(path: Path) -> tuple[dict[str, Any] | None, str, str]:
    """A YAML file's top-level mapping, or (None, key, problem) saying why it is not one."""
    try:
        text = _read_text(path)
        data = yaml.load(text, Loader=_Loader)
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
        key, msg = first_error(exc, data)
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
