"""Load recorded verdicts in the canonical JSONL format (docs/backtest.md) into typed records.

One JSON object per line, one line per item, parsed with `judges.record.ItemRecord`:
`dataset`, `item`, `mode`, `scale`, `input`, `votes` (`judge`, `order`, `value`,
`unscored`, optionally the judge's probabilities), `human`, `label_kind`, `meta`. It is
Quorum's own export format as well as the format of the research sets under
`shared/data`. Votes become `judges.Vote`s in the canonical frame; every item of a file
shares one synthesised `rubrics.Rubric`. A malformed record stops loading with one line
naming the file, the line and the problem (`DatasetError`).
"""

from __future__ import annotations

import codecs
import json
import math
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, ValidationError

from judges import CallErrorKind, Vote, canonical
from judges.record import ItemRecord, VoteRecord
from rubrics import Mode, Rubric, ScaleValue, Unscored, value_key
from rubrics.loader import open_without_waiting

__all__ = ["Dataset", "DatasetError", "DatasetItem", "find_datasets", "load_dataset"]

VOTES_FILE = "votes.jsonl"
PROB_TOLERANCE = 1e-3
"""How far a vote's probabilities may sum from 1 (rounding); they are then renormalised."""
GZIP_MAGIC = b"\x1f\x8b"
_SCALAR_TAGS = {"bool", "int", "str"}
"""How pydantic names the members of `ScaleValue` in an error's location."""

_SOURCE_REASONS: dict[str, Unscored] = {
    "empty completion": Unscored.EMPTY,
    "no 'Output (a)'/'Output (b)' verdict in completion": Unscored.NO_JSON,
    "unparsed judge output (source value 'garbage')": Unscored.NO_JSON,
}
"""Free-text reasons of the research sets that match an `Unscored` code: an empty answer,
and an answer in which no verdict could be found (Quorum's `no_json`: the output could
not be parsed). Other reasons (a content filter, a blank source cell, hanna's failed
samples) fit no code; they stay in `Vote.detail` only."""


class DatasetError(ValueError):
    """A dataset file is missing or malformed. The message is one line: file:line: problem."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {problem}")


class DatasetItem(BaseModel):
    """One recorded item: its votes, in file order, and its human labels."""

    model_config = ConfigDict(frozen=True)

    item: str
    line: int
    """Line number in the file (1-based), for messages."""
    votes: tuple[Vote, ...]
    human: tuple[ScaleValue, ...]
    """One label per annotator, in scale terms; empty when the item was not reviewed."""
    input: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class Dataset(BaseModel):
    """A loaded file: its synthesised rubric, judges in first-seen order, and items."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: Path
    rubric: Rubric
    label_kind: str | None
    judges: tuple[str, ...]
    items: tuple[DatasetItem, ...]


def find_datasets(root: Path) -> list[Path]:
    """Every dataset under `root`: its subdirectories holding votes.jsonl, sorted by name."""
    if not root.is_dir():
        raise DatasetError(root, None, "not a directory")
    found = sorted(p.parent for p in root.glob(f"*/{VOTES_FILE}"))
    if not found:
        raise DatasetError(root, None, f"no <name>/{VOTES_FILE} below this directory")
    return found


def _open(file: Path) -> BinaryIO:
    """The file, opened for reading: a regular file or a named pipe (`<(gunzip -c f.gz)`).
    The pipe is opened without waiting for a writer, so one with none reads as empty
    instead of hanging; anything else (a directory, a device) is refused."""
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        gz = file.with_name(f"{file.name}.gz")
        hint = f" ({gz.name} is gzip-compressed: decompress it first (gunzip))"
        raise DatasetError(file, None, "no such file" + (hint if gz.exists() else "")) from None
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        kinds = {stat.S_ISDIR: "a directory", stat.S_ISCHR: "a character device"}
        kind = next((k for test, k in kinds.items() if test(mode)), "a device or socket")
        raise DatasetError(file, None, f"not a regular file ({kind})")
    return open_without_waiting(file)


def _lines(file: Path) -> Iterator[tuple[int, str]]:
    """The file's lines, numbered from 1, the first without a UTF-8 byte order mark (which
    Windows tools write); a line that is not UTF-8, a gzip file, or a file that cannot be
    read is a DatasetError naming it."""
    try:
        with _open(file) as fh:
            for number, raw in enumerate(fh, start=1):
                skip = 0
                if number == 1 and raw.startswith(GZIP_MAGIC):
                    raise DatasetError(file, None, "gzip-compressed: decompress it first (gunzip)")
                if number == 1 and raw.startswith(codecs.BOM_UTF8):
                    skip = len(codecs.BOM_UTF8)
                try:
                    yield number, raw[skip:].decode("utf-8")
                except UnicodeDecodeError as exc:
                    at = skip + exc.start
                    problem = f"not UTF-8 text: byte {raw[at]:#04x} at column {at + 1}"
                    raise DatasetError(file, number, problem) from None
    except OSError as exc:
        raise DatasetError(file, None, f"cannot read: {exc.strerror or exc}") from None


def load_dataset(path: Path) -> Dataset:
    """Load a dataset directory (holding votes.jsonl) or a .jsonl file."""
    file = path / VOTES_FILE if path.is_dir() else path
    first: dict[str, Any] | None = None
    label_kind: str | None = None
    items: list[DatasetItem] = []
    seen: dict[str, int] = {}
    judges: dict[str, None] = {}
    rubric: Rubric | None = None
    for number, text in _lines(file):
        if not text.strip():
            continue
        raw, record = _parse_line(file, number, text)
        if first is None or rubric is None:
            first, rubric = raw, _rubric(file, number, record)
            label_kind = record.label_kind
        for key in ("dataset", "mode", "scale", "questions"):
            if json.dumps(raw.get(key)) != json.dumps(first.get(key)):
                raise DatasetError(
                    file,
                    number,
                    f"{key} {raw.get(key)!r} differs from the first record's "
                    f"{first.get(key)!r}; one file holds one dataset",
                )
        item = _item(file, number, record, rubric)
        if item.item in seen:
            raise DatasetError(
                file, number, f"item {item.item!r} already on line {seen[item.item]}"
            )
        seen[item.item] = number
        judges.update(dict.fromkeys(v.judge for v in item.votes))
        items.append(item)
    if first is None or rubric is None:
        raise DatasetError(file, None, "no records (empty file)")
    return Dataset(
        name=str(first["dataset"]),
        path=file,
        rubric=rubric,
        label_kind=label_kind,
        judges=tuple(judges),
        items=tuple(items),
    )


def _parse_line(file: Path, number: int, text: str) -> tuple[dict[str, Any], ItemRecord]:
    """The line as parsed JSON and as a record; a problem raises a one-line DatasetError."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(file, number, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise DatasetError(file, number, f"expected a JSON object, got {type(raw).__name__}")
    try:
        return raw, ItemRecord.model_validate(raw)
    except ValidationError as exc:
        raise DatasetError(file, number, _problem(raw, exc)) from None


def _problem(raw: dict[str, Any], exc: ValidationError) -> str:
    """The first problem of a record that is not an `ItemRecord`, in one line."""
    errors = exc.errors()
    missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing" and len(e["loc"]) == 1]
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    error = errors[0]
    loc = [p for p in error["loc"] if p not in _SCALAR_TAGS]
    field = str(loc[0])
    if field == "dataset":
        return "dataset must be a non-empty string"
    if field == "item":
        return f"item must be a non-empty string or integer id, got {raw['item']!r}"
    if field in ("votes", "human") and len(loc) == 1:
        return "votes and human must be lists"
    where, key = "", ".".join(str(p) for p in loc)
    if field == "votes":
        n = int(loc[1])
        judge = raw["votes"][n].get("judge") if isinstance(raw["votes"][n], dict) else None
        if len(loc) == 2 or loc[2] == "judge" or not isinstance(judge, str):
            return f"vote {n}: expected an object with a non-empty judge"
        where, key = f"vote {n} (judge {judge!r}): ", ".".join(str(p) for p in loc[2:])
        if key == "order":
            got = error["input"]
            return f"{where}order must be AB, BA or null (both orders averaged), got {got!r}"
        if error["type"] == "float_type" and loc[2] in ("prob", "distribution"):
            got = error["input"]
            return f"{where}{key} must be a JSON number (not a string or boolean), got {got!r}"
    if len(loc) < len(error["loc"]):  # a scale value: the union of JSON scalars failed
        label = {"human": "human label", "scale": "scale value"}.get(field, key)
        return (
            f"{where}{label} {error['input']!r} is not a scale value (a string, integer or boolean)"
        )
    return f"{where}{key}: {error['msg']}"


def _rubric(file: Path, number: int, record: ItemRecord) -> Rubric:
    """The rubric a dataset implies: its name, mode and scale; version 1; no compliance."""
    name = record.dataset
    rubric_id = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:64] or "dataset"
    if not rubric_id[0].isalnum():
        rubric_id = f"d{rubric_id}"[:64]
    data: dict[str, Any] = {
        "id": rubric_id,
        "version": 1,
        "description": f"Recorded verdicts of the dataset {name!r} (synthesised for backtests)",
        "mode": record.mode,
        "scale": record.scale,
        "criteria": f"As judged in the source of {name!r}; see the dataset's documentation.",
        "compliant": None,
    }
    if record.scale is None:  # an export whose rubric was no longer configured
        raise DatasetError(file, number, "scale is null: the values of the scale are unknown")
    if record.mode is Mode.POINTWISE:
        data["ordinal"] = True  # a pointwise scale is listed in order, worst first
    if record.mode is Mode.CHECKLIST:
        if not record.questions:
            raise DatasetError(file, number, "a checklist record needs its questions")
        data["questions"] = [q.model_dump() for q in record.questions]
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'rubric'}: {e['msg']}" for e in exc.errors()
        )
        raise DatasetError(file, number, f"mode/scale do not make a rubric: {problems}") from None


def _item(file: Path, number: int, record: ItemRecord, rubric: Rubric) -> DatasetItem:
    votes = [_vote(file, number, n, raw, rubric) for n, raw in enumerate(record.votes)]
    human: list[ScaleValue] = []
    for label in record.human:
        idx = rubric.index(label)
        if idx is None:
            raise DatasetError(
                file, number, f"human label {label!r} is not on the scale {list(rubric.scale)}"
            )
        human.append(rubric.scale[idx])
    return DatasetItem(
        item=str(record.item),
        line=number,
        votes=tuple(votes),
        human=tuple(human),
        input=record.input,
        meta=record.meta,
    )


def _vote(file: Path, number: int, n: int, raw: VoteRecord, rubric: Rubric) -> Vote:
    judge, order, value, reason = raw.judge, raw.order, raw.value, raw.unscored
    where = f"vote {n} (judge {judge!r})"
    pairwise = rubric.mode is Mode.PAIRWISE
    if not pairwise and order is not None:
        raise DatasetError(file, number, f"{where}: pointwise order must be null, got {order!r}")
    # Pairwise order null: the vote already averages both orders (reconciled upstream).
    common: dict[str, Any] = {
        "judge": judge,
        "model": raw.model or judge,
        "order": order,
        "reversed_scale": bool(raw.reversed_scale),
        "distribution": _distribution(file, number, where, raw, rubric),
        **_answers(file, number, where, raw, rubric),
    }
    if value is None:
        if not isinstance(reason, str) or not reason.strip():
            raise DatasetError(file, number, f"{where}: value is null but no unscored reason")
        return Vote(**common, detail=reason, **_unusable(reason))
    if reason is not None:
        raise DatasetError(file, number, f"{where}: has both a value and unscored {reason!r}")
    idx = rubric.index(value)
    if idx is None:
        raise DatasetError(
            file, number, f"{where}: value {value!r} is not on the scale {list(rubric.scale)}"
        )
    scaled = rubric.scale[idx]
    return Vote(
        **common, value=scaled, shown_value=canonical(scaled, order) if pairwise else scaled
    )


def _answers(
    file: Path, number: int, where: str, raw: VoteRecord, rubric: Rubric
) -> dict[str, Any]:
    """A checklist vote's per-question answers and question order, checked against the
    questions (an answer off a question's allowed values is refused, as a value off the
    scale is: a recorded `null` is how an unscored answer is written)."""
    if rubric.mode is not Mode.CHECKLIST:
        if raw.answers is not None or raw.question_order is not None:
            raise DatasetError(file, number, f"{where}: answers belong to checklist records")
        return {}
    ids = [q.id for q in rubric.questions]
    answers = dict(raw.answers or {})
    off = [k for k in answers if k not in ids]
    if off:
        raise DatasetError(file, number, f"{where}: answers name unknown questions {off}")
    for q in rubric.questions:
        given = answers.setdefault(q.id, None)
        if given is not None and given not in q.answers:
            raise DatasetError(
                file,
                number,
                f"{where}: answer {given!r} to {q.id!r} is not one of {list(q.answers)}",
            )
    order = raw.question_order
    if order is not None and sorted(order) != sorted(ids):
        raise DatasetError(file, number, f"{where}: question_order is not an order of {ids}")
    return {"answers": answers, "question_order": order}


def _distribution(
    file: Path, number: int, where: str, raw: VoteRecord, rubric: Rubric
) -> dict[str, float] | None:
    """The vote's probability per scale value (keyed by value text, canonical frame), from
    `prob` (scale order) or `distribution` (value text -> probability), renormalised."""
    keys = [value_key(v) for v in rubric.scale]
    if raw.prob is not None and raw.distribution is not None:
        raise DatasetError(file, number, f"{where}: give prob or distribution, not both")
    if raw.prob is not None:
        if len(raw.prob) != len(keys):
            raise DatasetError(
                file,
                number,
                f"{where}: prob has {len(raw.prob)} values, the scale {len(keys)} {keys}",
            )
        probs = dict(zip(keys, raw.prob, strict=True))
    elif raw.distribution is not None:
        off = [k for k in raw.distribution if k not in keys]
        if off:
            raise DatasetError(
                file, number, f"{where}: distribution keys {off} are not on the scale {keys}"
            )
        probs = dict(raw.distribution)
    else:
        return None
    total = math.fsum(probs.values())
    if abs(total - 1) > PROB_TOLERANCE:
        name = "prob" if raw.prob is not None else "distribution"
        raise DatasetError(file, number, f"{where}: {name} sums to {total:g}, not 1")
    return {k: p / total for k, p in probs.items()}


def _unusable(reason: str) -> dict[str, Any]:
    """Map a recorded reason onto Quorum's codes: an `Unscored` value or a call-error kind
    (as Quorum exports them), a known source reason, or neither (kept in `detail` only:
    the vote has no value, so it is unusable either way)."""
    text = reason.strip()
    if text in {u.value for u in Unscored}:
        return {"unscored": Unscored(text)}
    if text in {e.value for e in CallErrorKind}:
        return {"error": CallErrorKind(text)}
    if text in _SOURCE_REASONS:
        return {"unscored": _SOURCE_REASONS[text]}
    return {}
