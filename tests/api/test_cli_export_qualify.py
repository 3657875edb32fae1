"""`quorum export --out` and `quorum qualify --json` write their file whole or not at all
(an interrupted or failed run leaves the previous file as it was, and no partial or
temporary file); `export` says when a filter matches no stored evaluation at all;
`qualify` checks every option before it calls anything; `keys create` refuses a name
with control characters and a `--panels` that names no panel."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ServerThread, judge
from tests.doubles.judge_server import JudgeDouble
from tests.support import quorum_cli

ROWS = 10_000
"""Stored evaluations: an export of them takes seconds, long enough to interrupt."""
SEED = """
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < :n)
INSERT INTO evaluations (id, kind, panel, rubric_id, rubric_version, status, input,
  request_sha256, audit_draw, runs, idempotency_tenant, subject_model, use_case,
  created_at, updated_at)
SELECT printf('%032d', i), 'evaluation', 'jury', 'helpfulness', 1, 'decided',
  json_object('prompt', 'p', 'response', printf('%.500c', 'r')), 'x', 0.5, 1, '',
  'model-a', 'support-bot', strftime('%Y-%m-%d %H:%M:%f000', 'now', '-1 hour'),
  strftime('%Y-%m-%d %H:%M:%f000', 'now', '-1 hour')
FROM k
"""
OLD = "the previous export\n"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> dict[str, str]:
    """A database of ROWS evaluations (panel jury, subject model-a, use case support-bot)
    and a config whose policy names the use case hr-faq: the environment of the CLI."""
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("export")
    database = root / "q.db"
    upgrade(f"sqlite:///{database}")
    with sqlite3.connect(database) as conn:
        conn.execute(SEED, {"n": ROWS})
    config = root / "q.yaml"
    judges = [judge(f"j{i}", "honest", double.base_url, family=f"f{i}") for i in range(3)]
    policy = {"name": "hr", "action": "quarantine", "criterion": "jury", "use_case": "hr-faq"}
    config.write_text(
        yaml.safe_dump(
            {
                "judges": judges,
                "panels": [{"name": "jury", "rubric": "helpfulness", "judges": ["j0", "j1", "j2"]}],
                "policies": [{**policy, "below": 0.5}],
            }
        )
    )
    return {"QUORUM_DATABASE_URL": f"sqlite:///{database}", "QUORUM_CONFIG": str(config)}


def writing(out: Path) -> bool:
    """Lines are being written: to `out` itself, or to a file beside it."""
    try:
        return out.read_text() != OLD or any(
            p.stat().st_size > 0 for p in out.parent.iterdir() if p != out
        )
    except FileNotFoundError:  # a file renamed between listing and looking
        return True


def test_an_interrupted_export_leaves_the_previous_file_and_nothing_else(
    tmp_path: Path, stored: dict[str, str]
) -> None:
    """Ctrl-C half-way through `export --out` truncated the previous export and left the
    lines written so far."""
    out = tmp_path / "audit.jsonl"
    out.write_text(OLD)
    child = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "export", "--out", str(out)],
        env={**os.environ, **stored},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            if writing(out):
                break
            time.sleep(0.005)
        assert child.poll() is None, "the export ended before it could be interrupted"
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert out.read_text() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.jsonl"]
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1] == "quorum: interrupted", err


def test_an_export_replaces_the_file_keeping_its_mode(
    tmp_path: Path, stored: dict[str, str]
) -> None:
    out = tmp_path / "audit.jsonl"
    out.write_text(OLD)
    out.chmod(0o640)
    window = ("--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z")
    run = quorum_cli("export", "--out", out, *window, env=stored)
    assert run.returncode == 0, run.stderr
    assert out.read_text() == "" and out.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["audit.jsonl"]


def test_a_filter_no_evaluation_has_is_noted_with_the_known_values(
    stored: dict[str, str],
) -> None:
    """`--use-case nope` exported 0 lines and said nothing of why."""
    run = quorum_cli("export", "--use-case", "nope", "--subject-model", "model-a", env=stored)
    assert run.returncode == 0, run.stderr
    *notes, summary = run.stderr.strip().splitlines()
    assert notes == ["quorum: note: no evaluation has use case 'nope' (known: support-bot)"]
    assert summary.startswith("exported 0 evaluation(s) from ")
    # A use case the config's policies name, a subject model and a panel never stored.
    run = quorum_cli(
        "export", "--use-case", "hr-faq", "--subject-model", "b", "--panel", "gone", env=stored
    )
    assert run.returncode == 0, run.stderr
    *notes, summary = run.stderr.strip().splitlines()
    assert notes == [
        "quorum: note: no evaluation has panel 'gone' (known: jury)",
        "quorum: note: no evaluation has subject model 'b' (known: model-a)",
        "quorum: note: no evaluation has use case 'hr-faq' yet (known: support-bot)",
    ]
    assert summary.endswith(f"(panel 'gone' is not in {stored['QUORUM_CONFIG']})"), summary
    # Stored, but not in the window: 0 lines is the answer, nothing to note.
    window = ("--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z")
    run = quorum_cli("export", "--use-case", "support-bot", *window, env=stored)
    assert run.returncode == 0 and len(run.stderr.strip().splitlines()) == 1, run.stderr


HONEST = ["honest-1", "honest-2", "honest-3"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[str]:
    """A Quorum with the shipped security profile on three honest judges of the double."""
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("qualify-options")
    config = root / "q.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "judges": [judge(n, "honest", double.base_url, family=n) for n in HONEST],
                "panels": [{"name": "safety", "rubric": "safety", "judges": HONEST}],
                "profiles": [{"use": "security", "judges": HONEST}],
            }
        )
    )
    settings = Settings(database_url=f"sqlite:///{root / 'q.db'}", config=config)
    with ServerThread(create_app(settings)) as server:
        yield server.url


def qualify_argv(served: str, double: JudgeDouble, *extra: str) -> list[str]:
    argv = ["qualify", "--model", "openai/assistant-pass", "--profile", "security"]
    return [*argv, "--api-base", double.base_url, "--url", served, "--n", "2", "--quiet", *extra]


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (("--use-case", "support bot"), "--use-case: 'support bot' is not a use-case label"),
        (("--use-case", ""), "--use-case: '' is not a use-case label"),
        (("--subject", ""), "--subject: String should have at least 1 character"),
        (("--subject", "m" * 257), "--subject: String should have at most 256 characters"),
        (("--api-key-env", "QUORUM_TEST_NO_SUCH_KEY"), "--api-key-env: the variable"),
        (("--api-base", "ftp://127.0.0.1:1"), "--api-base: 'ftp://127.0.0.1:1' is not an http"),
        (("--url", "127.0.0.1:8000"), "--url: '127.0.0.1:8000' is not an http"),
        (("--url", "http://127.0.0.1:8000?x=1"), "the service: base_url 'http://127.0.0.1:8000?x"),
    ],
)
def test_a_bad_option_is_refused_before_any_call(
    served: str,
    double: JudgeDouble,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    said: str,
) -> None:
    """A use case or subject the service refuses was found out by a 422 per prompt, after
    the candidate had answered every one (and an unset key variable after the run)."""
    from api.cli import build_parser

    monkeypatch.delenv("QUORUM_TEST_NO_SUCH_KEY", raising=False)
    argv = qualify_argv(served, double, *extra)
    if extra[0] == "--url":
        argv[argv.index("--url") + 1] = extra[1]
    args = build_parser().parse_args(argv)
    before = double.stats()["by_model"]
    code = args.func(args)
    err = capsys.readouterr().err
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith(f"quorum qualify: {said}"), line
    assert double.stats()["by_model"] == before  # neither the candidate nor a judge


LIMITED = (
    "import resource, runpy, sys\n"
    "limit = int(sys.argv.pop(1))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "sys.argv[0] = 'quorum'\n"
    "runpy.run_module('api.cli', run_name='__main__', alter_sys=True)\n"
)
"""`python -m api.cli` with files limited to argv[1] bytes: a write past it fails with
EFBIG (CPython ignores SIGXFSZ, so it is an OSError, not a kill), as a full disk would
half-way through a file."""


def test_a_report_that_cannot_be_written_whole_leaves_the_previous_one(
    served: str, double: JudgeDouble, tmp_path: Path
) -> None:
    """`--json` truncated the previous report, then failed half-way with a traceback."""
    report = tmp_path / "report.json"
    report.write_text('{"previous": "report"}\n')
    argv = qualify_argv(served, double, "--no-evaluate", "--json", str(report))
    run = subprocess.run(
        [sys.executable, "-c", LIMITED, "512", *argv],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "2 prompt(s): 2 answered, 2 assessed" in run.stdout  # the run itself went well
    assert run.stderr.strip().splitlines()[-1] == (
        f"quorum: --json {report}: cannot write: File too large"
    )
    assert report.read_text() == '{"previous": "report"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def keys_create(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path, *args: str
) -> tuple[int, str]:
    """`quorum keys create ARGS` in this process: exit code and stderr."""
    from api.cli import build_parser

    monkeypatch.setenv("QUORUM_DATABASE_URL", f"sqlite:///{db}")
    parsed = build_parser().parse_args(["keys", "create", *args])
    code = parsed.func(parsed)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "code_point"),
    [("alice\nbob", "U+000A"), ("a\x1b[2Jb", "U+001B"), ("x\u202ey", "U+202E"), ("\tz", "U+0009")],
)
def test_a_key_name_with_control_characters_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    code_point: str,
) -> None:
    """Such a name is the reviewer its decisions record: it garbled `keys list`, logs and
    exports, or forged lines in them."""
    code, err = keys_create(capsys, monkeypatch, tmp_path / "q.db", "--name", name)
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith("quorum: --name: must not contain control characters (character ")
    assert line.endswith(f" is {code_point})")
    assert not (tmp_path / "q.db").exists()  # refused before the database was opened


@pytest.mark.parametrize(
    "name", ["مریم\u200cها", "\U0001f469\u200d\U0001f4bb team", "Zoë", "co\u00adop", "李雷"]
)
def test_a_key_name_in_any_script_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Format characters that spelling needs (the zero-width non-joiner of Persian, the
    joiner of an emoji sequence, a soft hyphen) are not controls: such names are taken,
    and listed as they are."""
    from api.cli import build_parser

    code, err = keys_create(capsys, monkeypatch, tmp_path / "q.db", "--name", name)
    assert code == 0, err
    parsed = build_parser().parse_args(["keys", "list"])
    assert parsed.func(parsed) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    assert f"…  {name} " in line, line


@pytest.mark.parametrize("panels", [",", "", " , "])
def test_panels_that_name_no_panel_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, panels: str
) -> None:
    """`--panels ,` made a key that could use no panel; `--panels ""` one that could use
    every panel, as if the option were not there."""
    db = tmp_path / "q.db"
    code, err = keys_create(capsys, monkeypatch, db, "--name", "k", "--panels", panels)
    assert code == 2, err
    assert err.strip() == (
        "quorum: --panels: names no panel (omit --panels for a key that may use every panel)"
    )
    assert not db.exists()


def test_a_name_stored_before_the_check_is_listed_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import build_parser
    from api.cli_common import run_job
    from api.services import keys
    from api.settings import Settings

    db = tmp_path / "q.db"
    settings = Settings(database_url=f"sqlite:///{db}")
    with pytest.raises(ValueError, match="control characters"):  # the service refuses it
        run_job(lambda s: keys.create_key(s, "eve\nforged", ["evaluate"], None, None), settings)
    run_job(lambda s: keys.create_key(s, "eve", ["evaluate"], None, None), settings)
    with sqlite3.connect(db) as conn:  # as a key made before names were checked
        conn.execute("UPDATE api_keys SET name = ?", ("eve\nforged line",))
    monkeypatch.setenv("QUORUM_DATABASE_URL", f"sqlite:///{db}")
    parsed = build_parser().parse_args(["keys", "list"])
    assert parsed.func(parsed) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    assert "eve\\nforged line" in line


@pytest.mark.parametrize("errno_name", ["EBUSY", "EXDEV"])
def test_a_file_that_cannot_be_renamed_over_is_written_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_name: str
) -> None:
    """A file bind-mounted into a container (`docker run -v ./x.jsonl:/out/x.jsonl`, a
    Kubernetes subPath) refuses a rename over it with EBUSY; the export was a traceback
    and wrote nothing. It is written in place then, and no temporary file is left."""
    import errno

    from api.cli_output import replaced_on_success

    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def refuse(src: object, dst: object) -> None:
        raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))

    monkeypatch.setattr(os, "replace", refuse)
    with replaced_on_success("--out", target) as out:
        out.write("new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_rename_refused_otherwise_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from api.cli_common import OutputProblem
    from api.cli_output import replaced_on_success

    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def refuse(src: object, dst: object) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    expected = r"--out .*out\.jsonl: cannot write: Permission denied"
    with pytest.raises(OutputProblem, match=expected), replaced_on_success("--out", target) as out:
        out.write("new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
