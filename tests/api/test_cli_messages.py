"""What the `quorum` command prints (issue 17, points 7 and 10): one line for a bad
database URL or setting, from every command, never a traceback; nothing from Alembic;
`--version`; serve's options documented; `keys create --config F` in either place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import judge
from tests.doubles.judge_server import JudgeDouble


def quorum(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(r: subprocess.CompletedProcess[str], start: str) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(start), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> str:
    path = tmp_path_factory.mktemp("cli") / "quorum.yaml"
    judges = [judge(f"j{i}", "honest", double.base_url, family=f"f{i}") for i in range(3)]
    panel = {"name": "jury", "rubric": "helpfulness", "judges": ["j0", "j1", "j2"]}
    path.write_text(yaml.safe_dump({"judges": judges, "panels": [panel]}))
    return str(path)


EVERY_COMMAND = (
    ["migrate"],
    ["keys", "list"],
    ["keys", "create", "--name", "k"],
    ["keys", "revoke", "abc"],
    ["export"],
    ["calibrate", "jury"],
    ["serve", "--port", "1"],
)


@pytest.mark.parametrize(
    ("url", "says", "commands"),
    [
        ("postgresql+psycopg://quorum:s3cret@127.0.0.1:1/db", "cannot connect", EVERY_COMMAND),
        ("not a url", "not a database URL", EVERY_COMMAND[:2]),
        ("postgresql+nodriver://x/y", "unknown database driver", EVERY_COMMAND[:2]),
    ],
)
def test_a_bad_database_url_is_one_line_from_every_command(
    config: str, url: str, says: str, commands: tuple[list[str], ...]
) -> None:
    env = {"QUORUM_DATABASE_URL": url, "QUORUM_CONFIG": config}
    for args in commands:
        line = one_line(quorum(*args, env=env), "quorum: database error: QUORUM_DATABASE_URL=")
        assert says in line, (args, line)
        assert "s3cret" not in line


def test_a_database_other_than_sqlite_or_postgresql_is_refused_when_read(config: str) -> None:
    """A MySQL URL was a ModuleNotFoundError traceback (no driver), and with a driver
    would have failed later, on SQL Quorum never runs there. The password is not shown."""
    for url in ("mysql://root:s3cret@127.0.0.1/test", "nosuchdb+nodriver://x/y"):
        env = {"QUORUM_DATABASE_URL": url, "QUORUM_CONFIG": config}
        for args in EVERY_COMMAND:
            line = one_line(quorum(*args, env=env), "quorum: settings error: QUORUM_DATABASE_URL: ")
            assert "Quorum runs on SQLite or PostgreSQL, not " in line, (args, line)
            assert "s3cret" not in line and "Value error" not in line


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, config: str) -> None:
    """It was sqlite3's DatabaseError traceback, from every command that migrates."""
    junk = tmp_path / "quorum.db"
    junk.write_text("not a database\n" * 100)
    env = {"QUORUM_DATABASE_URL": f"sqlite:///{junk}", "QUORUM_CONFIG": config}
    for args in (["migrate"], ["keys", "list"], ["serve", "--port", "1"]):
        line = one_line(quorum(*args, env=env), "quorum: database error: QUORUM_DATABASE_URL=")
        assert line.endswith("not an SQLite database: file is not a database"), line
    assert junk.read_text() == "not a database\n" * 100  # left as it was


def test_a_key_for_a_panel_the_config_lacks_is_refused(tmp_path: Path, config: str) -> None:
    """A misspelt --panels made a key that could use no panel at all."""
    env = {"QUORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"}
    args = ("keys", "create", "--name", "k", "--config", config, "--panels")
    line = one_line(quorum(*args, "jury,juri", env=env), "quorum: --panels: ")
    assert line == f"quorum: --panels: no panel 'juri' in {config} (its panels: jury)"
    assert not (tmp_path / "q.db").exists()  # nothing was created, not even the database
    made = quorum(*args, "jury", env=env)
    assert made.returncode == 0 and made.stdout.startswith("created key "), made.stderr
    # With no config file to check against, the key is made and the check is said undone.
    absent = str(tmp_path / "absent.yaml")
    alone = quorum("keys", "create", "--name", "k", "--config", absent, "--panels", "x", env=env)
    assert alone.returncode == 0 and alone.stdout.startswith("created key ")
    assert alone.stderr.splitlines()[0] == (
        f"quorum: note: --panels not checked: no config file {absent}"
    )


def test_export_refuses_a_window_that_ends_before_it_starts(tmp_path: Path, config: str) -> None:
    """It exported 0 records and exited 0 (the REST export answers 422)."""
    env = {"QUORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}", "QUORUM_CONFIG": config}
    window = ("--since", "2026-12-02T00:00:00Z", "--until", "2026-12-01T00:00:00Z")
    line = one_line(quorum("export", *window, env=env), "quorum: --since ")
    assert line == (
        "quorum: --since 2026-12-02T00:00:00+00:00 must be before --until 2026-12-01T00:00:00+00:00"
    )
    # A panel the config no longer has may still have records: exported, with a note.
    assert quorum("migrate", env=env).returncode == 0  # export reads: it makes no database
    gone = quorum("export", "--panel", "retired", env=env)
    assert gone.returncode == 0, gone.stderr
    assert gone.stderr.strip().endswith(f"(panel 'retired' is not in {config})"), gone.stderr


def test_qualify_names_the_option_of_a_bad_value(config: str) -> None:
    """`--timeout -1` printed pydantic's four-line dump under three option names."""
    base = ("qualify", "--profile", "p", "--url", "http://127.0.0.1:1")
    for extra, said in (
        (("--model", "openai/x", "--timeout", "-1"), "--timeout: Input should be greater than 0"),
        (("--model", "openai/x", "--api-key-env", "A B"), "--api-key-env: String should match"),
        (("--model", ""), "--model: String should have at least 1 character"),
    ):
        line = one_line(quorum(*base, *extra), "quorum qualify: ")
        assert line.startswith(f"quorum qualify: {said}"), line


def test_a_bad_setting_is_one_line(config: str) -> None:
    r = quorum("check-config", "--config", config, env={"QUORUM_MAX_BODY_BYTES": "-1"})
    line = one_line(r, "quorum: settings error: QUORUM_MAX_BODY_BYTES: ")
    assert "greater than 0" in line


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("QUORUM_LEASE_GRACE_S", "inf", "finite number"),
        ("QUORUM_STATS_WINDOW", "banana", "like 30m, 12h or 7d"),
        ("QUORUM_LOG_LEVEL", "shouty", "must be one of critical"),
        ("QUORUM_REDIS_URL", "notaurl", "must start with redis://"),
        ("QUORUM_METRICS_APPS", "not json[", "not valid JSON"),
        ("QUORUM_REDACT", "(x", "not valid JSON"),
    ],
)
def test_settings_that_would_fail_later_are_one_line_at_start(
    config: str, name: str, value: str, words: str
) -> None:
    """Refused when read, not at the first request (an infinite lease grace failed every
    evaluation) or in a background task (a bad stats window)."""
    r = quorum("check-config", "--config", config, env={name: value})
    assert words in one_line(r, f"quorum: settings error: {name}: ")


@pytest.mark.parametrize(
    "args",
    [
        ("export", "--out", "{missing}/audit.jsonl"),
        ("export", "--out", "{folder}"),
        ("qualify", "--model", "openai/x", "--profile", "p", "--json", "{missing}/q.json"),
    ],
    ids=["export-no-folder", "export-a-directory", "qualify-no-folder"],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    tmp_path: Path, config: str, args: tuple[str, ...]
) -> None:
    """`qualify --json` used to fail after the whole run and the policy step on the
    service; `export --out` after reading the trail."""
    filled = [a.format(missing=tmp_path / "absent", folder=tmp_path) for a in args]
    env = {"QUORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}", "QUORUM_CONFIG": config}
    line = one_line(quorum(*filled, env=env), "quorum: --")
    assert "no such directory" in line or "is a directory" in line
    assert not (tmp_path / "q.db").exists()  # refused before the database was opened


def test_commands_are_quiet_about_alembic(tmp_path: Path, config: str) -> None:
    env = {"QUORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    created = quorum("keys", "create", "--name", "first", "--config", config, env=env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created key ")  # the key is the first thing shown
    assert "alembic" not in created.stderr.lower()
    # Only the note that a key without --tenant shares its data with no other key (a
    # reviewer's key made so saw an empty queue), and none with --tenant.
    assert created.stderr.startswith("quorum: note: tenant ") and "--tenant" in created.stderr
    assert len(created.stderr.strip().splitlines()) == 1
    shared = quorum(
        "keys", "create", "--name", "rev", "--tenant", "acme", "--config", config, env=env
    )
    assert shared.returncode == 0 and shared.stderr.strip() == "", shared.stderr
    migrated = quorum("migrate", env=env)
    assert migrated.returncode == 0 and "alembic" not in migrated.stderr.lower()
    # --config before the subcommand, as before
    listed = quorum("keys", "--config", config, "list", env=env)
    assert listed.returncode == 0 and "first" in listed.stdout


def test_commands_without_config_do_not_load_the_statistics_stack() -> None:
    # `quorum --version`, `keys`, `audit` and `migrate` need no config: the command's
    # module must not import the config, the jury model or scipy (1.3 s of a 2-s start).
    code = (
        "import sys, api.cli\n"
        "heavy = ('scipy', 'routing', 'api.config', 'litellm')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_version_and_serve_help() -> None:
    from importlib.metadata import version

    r = quorum("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"quorum {version('quorum')}"
    shown = " ".join(quorum("serve", "--help").stdout.split())
    for option, default in (("--host", "127.0.0.1"), ("--port", "8000"), ("--workers", "1")):
        assert option in shown and f"(default: {default})" in shown


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--port", "99999", "argument --port: 99999 is not between 0 and 65535"),
        ("--port", "http", "argument --port: 'http' is not an integer"),
        ("--workers", "0", "argument --workers: 0 is not between 1 and 256"),
        ("--workers", "-2", "argument --workers: -2 is not between 1 and 256"),
    ],
)
def test_serve_refuses_a_port_or_worker_count_out_of_range(
    config: str, option: str, value: str, words: str
) -> None:
    r = quorum("serve", "--config", config, option, value)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr


def test_export_refuses_to_write_over_its_own_database(tmp_path: Path, config: str) -> None:
    """`--out quorum.db` truncated the SQLite file and lost every evaluation."""
    db = tmp_path / "q.db"
    env = {"QUORUM_DATABASE_URL": f"sqlite:///{db}", "QUORUM_CONFIG": config}
    assert quorum("migrate", env=env).returncode == 0
    size = db.stat().st_size
    for out, said in ((db, "is the database"), (Path(f"{db}-wal"), "is the database (its wal")):
        line = one_line(quorum("export", "--out", str(out), env=env), "quorum: --out ")
        assert said in line, line
    assert db.stat().st_size == size


def test_a_time_with_no_utc_equivalent_is_a_usage_error(tmp_path: Path, config: str) -> None:
    env = {"QUORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}", "QUORUM_CONFIG": config}
    for args in (
        ("export", "--since", "0001-01-01T00:00:00+14:00"),
        ("export", "--until", "9999-12-31T23:59:59-14:00"),
        ("audit", "verify", "--since", "0001-01-01T00:00:00+14:00"),
    ):
        r = quorum(*args, env=env)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert "has no UTC equivalent (out of range)" in r.stderr


def test_check_judges_reports_a_pattern_juror_without_a_latency(tmp_path: Path) -> None:
    """The shipped example's pattern juror (no model call, so no latency) crashed the
    report with a TypeError after its first lines."""
    example = str(Path(__file__).parents[2] / "quorum.example.yaml")
    env = {"QUORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"}
    r = quorum("check-judges", "--config", example, env=env)
    assert "Traceback" not in r.stderr and r.returncode in (0, 1), r.stderr
    assert any(line.startswith("up    pii-scan") for line in r.stdout.splitlines()), r.stdout
    assert "panel " in r.stdout  # the panels' summary came after every judge's line


def test_an_in_memory_database_and_a_bad_rate_limit_are_refused(config: str) -> None:
    """`sqlite://` let `migrate` "succeed" on a database nothing else could see, and every
    other command failed with a pool_size traceback; `--rate-limit -1` meant unlimited and
    one above int64 was an OverflowError traceback."""
    for url in ("sqlite://", "sqlite:///:memory:"):
        env = {"QUORUM_DATABASE_URL": url, "QUORUM_CONFIG": config}
        for args in (["migrate"], ["keys", "list"]):
            line = one_line(quorum(*args, env=env), "quorum: settings error: QUORUM_DATABASE_URL: ")
            assert "an in-memory SQLite database keeps nothing" in line
    for value in ("-1", "9223372036854775808"):
        r = quorum("keys", "create", "--name", "k", "--rate-limit", value)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert f"argument --rate-limit: {value} is not between 0 and 2147483647" in r.stderr
