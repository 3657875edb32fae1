"""The loader's checks: probabilities that are JSON numbers, non-empty item ids, and files
that are not plain UTF-8 JSONL (a BOM, gzip, a device, a pipe); and what it keeps
accepting on purpose (a vote whose probabilities leave out its value, mixed label kinds,
repeated votes of one judge), since recorded data of other sources holds them."""

from __future__ import annotations

import codecs
import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from backtest.datasets import DatasetError, load_dataset


def vote(judge: str, value: Any, order: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"judge": judge, "order": order, "value": value, "unscored": None} | extra


def line(item: Any, votes: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A pointwise record on [1, 2, 3] (`mode`/`scale` overridable)."""
    base = {"dataset": "d", "item": item, "mode": "pointwise", "scale": [1, 2, 3]}
    return base | {"votes": votes, "human": [], "label_kind": "human"} | fields


def pair(item: str, votes: list[dict[str, Any]]) -> dict[str, Any]:
    return line(item, votes, mode="pairwise", scale=["A", "B", "tie"])


def write(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    file = tmp_path / "set.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in records))
    return file


def refused(file: Path) -> str:
    with pytest.raises(DatasetError) as caught:
        load_dataset(file)
    return str(caught.value)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            {"prob": ["0.2", "0.3", "0.5"]},
            "prob.0 must be a JSON number (not a string or boolean), got '0.2'",
        ),
        (
            {"prob": [0, 0, True]},
            "prob.2 must be a JSON number (not a string or boolean), got True",
        ),
        (
            {"distribution": {"3": "1"}},
            "distribution.3 must be a JSON number (not a string or boolean), got '1'",
        ),
    ],
)
def test_probabilities_must_be_json_numbers(
    tmp_path: Path, extra: dict[str, Any], problem: str
) -> None:
    file = write(tmp_path, [line("a", [vote("j", 3, **extra)])])
    assert refused(file) == f"{file}:1: vote 0 (judge 'j'): {problem}"
    ints = write(tmp_path, [line("a", [vote("j", 3, prob=[0, 0, 1])])])  # integers are numbers
    assert load_dataset(ints).items[0].votes[0].distribution == {"1": 0.0, "2": 0.0, "3": 1.0}


def test_a_vote_whose_probabilities_leave_out_its_value_still_loads(tmp_path: Path) -> None:
    """Kept, not refused: recorded data (and Quorum's own export) may take the value from
    the text and the probabilities from the first token's logprobs, rounded; one such
    vote must not stop a replay of the whole set. The probabilities are the evidence."""
    file = write(tmp_path, [line("b", [vote("k", 2), vote("j", 1, prob=[0.0, 0.5, 0.5])])])
    loaded = load_dataset(file).items[0].votes[1]
    assert loaded.value == 1 and loaded.distribution == {"1": 0.0, "2": 0.5, "3": 0.5}


@pytest.mark.parametrize("item", ["", "   ", 1.5])
def test_an_item_id_is_a_non_empty_string_or_an_integer(tmp_path: Path, item: Any) -> None:
    file = write(tmp_path, [line(7, []), line(item, [])])
    assert refused(file) == f"{file}:2: item must be a non-empty string or integer id, got {item!r}"
    assert load_dataset(write(tmp_path, [line(7, [])])).items[0].item == "7"


def test_label_kind_is_free_text_and_the_first_lines_is_reported(tmp_path: Path) -> None:
    """Reported, not interpreted: a mixed file still loads (it is not refused over a word)."""
    mixed = write(tmp_path, [line("a", [], label_kind="crowd"), line("b", [], label_kind="gold")])
    assert load_dataset(mixed).label_kind == "crowd"


def test_repeated_votes_of_one_judge_load_as_votes(tmp_path: Path) -> None:
    """Kept, not refused: several samples of one judge in one order are a recorded design
    (self-consistency), and each counts as a vote; both orders and an averaged vote of
    another judge load as before."""
    record = pair("p", [vote("g", "A", "AB"), vote("g", "A", "AB"), vote("g", "B", "BA")])
    votes = load_dataset(write(tmp_path, [record])).items[0].votes
    assert [(v.judge, v.order) for v in votes] == [("g", "AB"), ("g", "AB"), ("g", "BA")]


def test_a_utf8_byte_order_mark_at_the_start_is_skipped(tmp_path: Path) -> None:
    file = tmp_path / "bom.jsonl"
    text = json.dumps(line("a", [vote("j", 1)])) + "\n" + json.dumps(line("b", [])) + "\n"
    file.write_bytes(codecs.BOM_UTF8 + text.encode())
    assert [it.item for it in load_dataset(file).items] == ["a", "b"]
    file.write_bytes(codecs.BOM_UTF8 + b'{"dataset": "\xe9"}\n')  # columns count the BOM
    assert refused(file) == f"{file}:1: not UTF-8 text: byte 0xe9 at column 17"


def test_files_that_are_not_plain_jsonl_say_what_they_are(tmp_path: Path) -> None:
    text = json.dumps(line("a", [])) + "\n"
    packed = tmp_path / "set.jsonl.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    assert refused(packed) == f"{packed}: gzip-compressed: decompress it first (gunzip)"
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "votes.jsonl.gz").write_bytes(packed.read_bytes())
    assert refused(folder) == (
        f"{folder / 'votes.jsonl'}: no such file "
        "(votes.jsonl.gz is gzip-compressed: decompress it first (gunzip))"
    )
    assert refused(tmp_path / "absent.jsonl") == f"{tmp_path / 'absent.jsonl'}: no such file"
    assert refused(Path("/dev/null")) == "/dev/null: not a regular file (a character device)"
    nested = tmp_path / "nested" / "votes.jsonl"  # votes.jsonl is itself a directory
    nested.mkdir(parents=True)
    assert refused(nested.parent) == f"{nested}: not a regular file (a directory)"
    (tmp_path / "empty.jsonl").write_text("")
    assert (
        refused(tmp_path / "empty.jsonl") == f"{tmp_path / 'empty.jsonl'}: no records (empty file)"
    )


@pytest.mark.timeout(20)
def test_a_pipe_is_read_to_its_end_and_one_without_a_writer_does_not_hang(
    tmp_path: Path,
) -> None:
    """`quorum backtest <(gunzip -c set.jsonl.gz)` reads the pipe; a named pipe nobody
    writes to reads as empty instead of waiting for a writer."""
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    assert refused(fifo) == f"{fifo}: no records (empty file)"
    read, written = os.pipe()
    with os.fdopen(written, "w") as out:
        out.write(json.dumps(line("a", [])) + "\n")
    try:
        assert load_dataset(Path(f"/dev/fd/{read}")).items[0].item == "a"
    finally:
        os.close(read)
