"""The `quorum` command and its database: a read never creates one, QUORUM_AUTO_MIGRATE=false
migrates nothing, first migrations on one SQLite file wait for each other, a schema from
a newer Quorum is one line, each failure says what happened; and the command's own end:
Ctrl-C, a closed pipe, a full disk, a busy port."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text

from api.cli import main
from api.store import database_problem
from api.store.migrate import LOCK_SUFFIX, MIGRATIONS, upgrade
from tests.doubles.judge_server import JudgeDouble
from tests.support import REPO, Child, quorum_cli, write_config

NEWEST = next(ScriptDirectory(str(MIGRATIONS)).walk_revisions())  # walked from the head
HEAD, BEHIND = NEWEST.revision, str(NEWEST.down_revision)
MIGRATE = "create it with `quorum migrate`, or correct QUORUM_DATABASE_URL"
READS = (["keys", "list"], ["export"], ["audit", "verify"], ["calibrate", "jury"])


@pytest.fixture
def database(
    tmp_path: Path, double: JudgeDouble, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The SQLite file (not made) the commands use, with the test panels' config."""
    monkeypatch.setenv("QUORUM_CONFIG", str(write_config(tmp_path / "quorum.yaml", double)))
    monkeypatch.delenv("QUORUM_AUTO_MIGRATE", raising=False)
    db = tmp_path / "q.db"
    monkeypatch.setenv("QUORUM_DATABASE_URL", f"sqlite:///{db}")
    yield db


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`quorum ARGS` in this process: exit code, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _, err = cli(capsys, *args)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1, (args, err)
    return lines[0]


def revision(db: Path) -> str | None:
    with sqlite3.connect(db) as conn:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return found[0] if found else None


def test_a_read_never_creates_a_database(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped path was a new empty database, and "no keys" or "0 finding(s)"."""
    said = f"quorum: database error: QUORUM_DATABASE_URL=sqlite:///{database}: "
    for args in (*READS, ["keys", "revoke", "abc"]):
        assert one_line(capsys, *args) == f"{said}no database file {database}: {MIGRATE}", args
    assert list(database.parent.iterdir()) == [database.parent / "quorum.yaml"]
    database.touch()  # a file, but nothing of Quorum's in it
    for args in READS:
        line = one_line(capsys, *args)
        assert line == f"{said}no Quorum schema in it (no alembic_version table): {MIGRATE}"
    assert database.stat().st_size == 0


@pytest.mark.parametrize("auto_migrate", ["true", "false"])
def test_a_first_key_creates_the_database(
    database: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    auto_migrate: str,
) -> None:
    """The README's first step, `quorum keys create` on a fresh machine, still works; so
    does the Compose first run's, in a container with QUORUM_AUTO_MIGRATE=false that may
    get to the empty database before the `migrate` container does (docs/operations.md)."""
    monkeypatch.setenv("QUORUM_AUTO_MIGRATE", auto_migrate)
    code, out, _ = cli(capsys, "keys", "create", "--name", "first")
    assert code == 0 and out.startswith("created key ") and revision(database) == HEAD
    code, out, _ = cli(capsys, "keys", "list")
    assert code == 0 and " first " in out


def test_with_auto_migrate_off_no_command_migrates(
    database: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(f"sqlite:///{database}", BEHIND)
    monkeypatch.setenv("QUORUM_AUTO_MIGRATE", "false")
    behind = f"schema at revision {BEHIND}, this Quorum needs {HEAD}: run `quorum migrate`"
    for args in (["keys", "create", "--name", "k"], *READS):
        assert behind in one_line(capsys, *args), args
    assert revision(database) == BEHIND
    monkeypatch.setenv("QUORUM_AUTO_MIGRATE", "true")  # then a read brings it to head
    code, out, _ = cli(capsys, "keys", "list")
    assert code == 0 and out.startswith("no keys") and revision(database) == HEAD


def test_the_app_started_with_auto_migrate_off_refuses_a_schema_behind_head(
    database: Path, double: JudgeDouble
) -> None:
    """A replica started beside its migration job (QUORUM_AUTO_MIGRATE=false) must not
    serve on a schema it was not written for: its start fails, saying to migrate."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from api.store import SchemaProblem

    upgrade(f"sqlite:///{database}", BEHIND)
    app = create_app(Settings(auto_migrate=False))
    with pytest.raises(SchemaProblem, match="run `quorum migrate`"), TestClient(app):
        pass
    assert revision(database) == BEHIND
    upgrade(f"sqlite:///{database}")
    with TestClient(create_app(Settings(auto_migrate=False))) as http:
        assert http.get("/healthz").status_code == 200


def test_a_schema_from_a_newer_quorum_is_left_as_it_is(
    database: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rollback, or an old replica in a rolling update, meets the newer release's
    schema, which must work for the release before it (docs/operations.md). It was
    Alembic's 72-line "Can't locate revision" traceback, so an init container's `quorum
    migrate` crash-looped and a rollback could not start; now every command goes on, the
    revision is left as it is, and a warning names it."""
    upgrade(f"sqlite:///{database}")
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    code, out, _ = cli(capsys, "migrate")
    assert (
        code == 0 and out == "database schema is at 9999, newer than this Quorum: left as it is\n"
    )
    for args in (["keys", "create", "--name", "k"], ["keys", "list"], ["audit", "verify"]):
        code, _, err = cli(capsys, *args)
        assert code == 0, (args, err)
    monkeypatch.setenv("QUORUM_AUTO_MIGRATE", "false")
    code, out, _ = cli(capsys, "keys", "list")
    assert code == 0, out
    assert [line.split()[2] for line in out.splitlines()] == ["k"]  # id, prefix, name
    assert revision(database) == "9999"
    assert f"schema revision '9999' is newer than this Quorum's ({HEAD})" in caplog.text


def test_another_applications_database_is_one_line_and_left_alone(
    database: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another application's Alembic table (a shared database), or a file with tables but
    no schema of Quorum's, is not Quorum's: no command takes it for a newer Quorum's, and
    `keys create` with auto-migrate off does not add Quorum's tables to it."""
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('a1b2c3d4e5f6')")
    foreign = "schema revision 'a1b2c3d4e5f6' is not one of Quorum's (newest known: "
    for args in (["migrate"], ["keys", "create", "--name", "k"], ["keys", "list"]):
        assert foreign in one_line(capsys, *args), args
    with sqlite3.connect(database) as conn:
        conn.execute("DROP TABLE alembic_version")
    monkeypatch.setenv("QUORUM_AUTO_MIGRATE", "false")
    assert "no Quorum schema in it" in one_line(capsys, "keys", "create", "--name", "k")
    with sqlite3.connect(database) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"users"}


def test_with_auto_migrate_off_a_command_waits_for_a_migration_under_way(
    tmp_path: Path,
) -> None:
    """`docker compose up -d postgres migrate` then `run --rm migrate keys create` at once:
    the command found no schema yet and failed; it waits for the migration's lock, then
    finds the schema at head."""
    from alembic import command

    from api.store.migrate import alembic_config

    db = tmp_path / "q.db"
    url = f"sqlite:///{db}"
    upgrade(url, BEHIND)
    env = {**os.environ, "QUORUM_DATABASE_URL": url, "QUORUM_AUTO_MIGRATE": "false"}
    with open(f"{db}{LOCK_SUFFIX}", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as `quorum migrate` holds it while it works
        with Child(
            [sys.executable, "-m", "api.cli", "keys", "list"], tmp_path / "l.log", env
        ) as child:
            child.wait_line(f"waiting for another process migrating {db}", timeout=60)
            assert child.proc.poll() is None, child.output()
            command.upgrade(alembic_config(url), "head")
            fcntl.flock(held, fcntl.LOCK_UN)
            assert child.wait(timeout=60) == 0, child.output()
    assert "no keys" in child.output()


def test_a_sqlite_uri_url_names_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sqlite:///file:/p/q.db?uri=true` (SQLite's URI form) was taken for a file named
    `file:/p/q.db`: every read said there was no database, and the lock was lost."""
    db = tmp_path / "q.db"
    monkeypatch.setenv("QUORUM_DATABASE_URL", f"sqlite:///file:{db}?uri=true")
    assert cli(capsys, "migrate")[0] == 0
    code, out, err = cli(capsys, "keys", "list")
    assert code == 0 and out.startswith("no keys"), err
    assert revision(db) == HEAD and Path(f"{db}{LOCK_SUFFIX}").exists()


def test_a_missing_table_is_not_a_connection_failure(
    database: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every OperationalError was "cannot connect", "table ... already exists" too."""
    upgrade(f"sqlite:///{database}")
    with sqlite3.connect(database) as conn:
        conn.execute("DROP TABLE api_keys")
    line = one_line(capsys, "keys", "list")
    assert line.endswith(f"sqlite:///{database}: schema problem: no such table: api_keys"), line
    nowhere = database.parent / "absent" / "q.db"  # a real connection failure stays one
    monkeypatch.setenv("QUORUM_DATABASE_URL", f"sqlite:///{nowhere}")
    line = one_line(capsys, "migrate")
    assert line.endswith(f"sqlite:///{nowhere}: cannot connect: unable to open database file")


def problem_of(url: str, *statements: str, timeout: float = 5) -> str | None:
    """What `database_problem` says of the error of running `statements` on `url`."""
    args = {"timeout": timeout} if url.startswith("sqlite") else {}
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=args)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    except Exception as exc:
        return database_problem(exc, url)
    finally:
        engine.dispose()
    raise AssertionError(f"{statements} did not fail")


def test_each_sqlite_failure_says_what_happened(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    url = f"sqlite:///{db}"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, blob TEXT)")
        conn.execute("INSERT INTO t VALUES (1, 'x')")
    said = f"QUORUM_DATABASE_URL={url}: "
    read_only = f"sqlite:///file:{db}?mode=ro&uri=true"
    write = "INSERT INTO t (blob) VALUES ('y')"
    refused = problem_of(read_only, write) or ""
    assert refused.endswith(
        "q.db?mode=ro&uri=true: cannot write: attempt to write a readonly database"
    )
    full = ("PRAGMA max_page_count = 2", "INSERT INTO t (blob) VALUES (zeroblob(100000))")
    assert problem_of(url, *full) == f"{said}cannot write: database or disk is full"
    assert problem_of(url, "SELECT * FROM nosuch") == f"{said}schema problem: no such table: nosuch"
    holder = sqlite3.connect(db)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        assert problem_of(url, write, timeout=0) == f"{said}busy: database is locked"
    finally:
        holder.close()
    assert problem_of(url, "INSERT INTO t VALUES (1, 'again')") is None  # Quorum's bug


@pytest.mark.postgres
def test_postgresql_failures_and_no_schema(
    postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An undefined table was a ProgrammingError traceback; a read creates no schema."""
    said = f"QUORUM_DATABASE_URL={postgres_url}: "
    missing = problem_of(postgres_url, "SELECT * FROM nosuch")
    assert missing == f'{said}schema problem: relation "nosuch" does not exist'
    standby = ("SET TRANSACTION READ ONLY", "CREATE TABLE t (id int)")
    assert problem_of(postgres_url, *standby) == (
        f"{said}cannot write: cannot execute CREATE TABLE in a read-only transaction"
    )
    lost = problem_of(postgres_url, "SELECT pg_terminate_backend(pg_backend_pid())")
    assert lost == f"{said}lost the connection: terminating connection due to administrator command"
    monkeypatch.setenv("QUORUM_DATABASE_URL", postgres_url)
    monkeypatch.delenv("QUORUM_AUTO_MIGRATE", raising=False)
    line = one_line(capsys, "keys", "list")
    no_schema = "no Quorum schema in it (no alembic_version table)"
    assert line == f"quorum: database error: {said}{no_schema}: {MIGRATE}"
    engine = create_engine(postgres_url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None
    engine.dispose()


def _migrate(db: Path, log: Path) -> Child:
    env = {**os.environ, "QUORUM_DATABASE_URL": f"sqlite:///{db}"}
    return Child([sys.executable, "-m", "api.cli", "migrate"], log, env)


def test_first_migrations_of_one_sqlite_file_wait_for_each_other(tmp_path: Path) -> None:
    """Two of three failed ("table ... already exists"), and could leave an _alembic_tmp_
    table; now each waits for the lock beside the file, then finds the schema at head."""
    db = tmp_path / "q.db"
    children = [_migrate(db, tmp_path / f"migrate-{i}.log") for i in range(3)]
    try:
        results = [(c.wait(timeout=180), c.output()) for c in children]
    finally:
        for c in children:
            c.stop()
    for code, out in results:
        assert code == 0 and "database schema is up to date" in out, out
    assert revision(db) == HEAD
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert not [n for n in names if n.startswith("_alembic_tmp")]


def test_ctrl_c_is_one_line(tmp_path: Path) -> None:
    """Ctrl-C (here while waiting for another migration) printed a traceback."""
    db = tmp_path / "q.db"
    with open(f"{db}{LOCK_SUFFIX}", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with _migrate(db, tmp_path / "migrate.log") as child:
            child.wait_line(f"waiting for another process migrating {db}", timeout=60)
            child.proc.send_signal(signal.SIGINT)
            assert child.wait(timeout=30) == 130
    lines = child.output().splitlines()
    assert lines[-1] == "quorum: interrupted" and len(lines) == 2, lines
    assert not db.exists()


def said(stderr: str) -> list[str]:
    """The lines of `stderr` but the config's warnings (the test panels have some)."""
    return [line for line in stderr.splitlines() if not line.startswith("WARNING quorum.config:")]


def _environ(db: Path, unbuffered: bool) -> dict[str, str]:
    env = {**os.environ, "QUORUM_DATABASE_URL": f"sqlite:///{db}"}
    env.pop("PYTHONUNBUFFERED", None)
    return env | ({"PYTHONUNBUFFERED": "1"} if unbuffered else {})


@pytest.mark.parametrize(
    ("args", "unbuffered"),
    [
        (["keys", "list"], False),
        (["export", "--stream", "events", "--since", "2000-01-01", "--until", "2999-01-01"], True),
    ],
    ids=["keys-list", "export"],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(
    database: Path, args: list[str], unbuffered: bool
) -> None:
    """`quorum keys list | head -0` was a BrokenPipeError traceback."""
    upgrade(f"sqlite:///{database}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", *args],
        cwd=REPO,
        env=_environ(database, unbuffered),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes a line
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and said(err) == [], err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_is_one_line(database: Path) -> None:
    upgrade(f"sqlite:///{database}")
    with open("/dev/full", "w") as full:
        r = subprocess.run(
            [sys.executable, "-m", "api.cli", "keys", "list"],
            cwd=REPO,
            env=_environ(database, unbuffered=False),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert r.returncode == 2
    assert r.stderr == "quorum: cannot write the output: No space left on device\n"


def test_serve_on_a_busy_port_says_so_and_never_ready(database: Path) -> None:
    """uvicorn starts the app before it binds: "quorum ready", then the bind failed."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        r = quorum_cli("serve", "--port", str(port), database=database)
    assert r.returncode == 2 and "ready" not in r.stdout + r.stderr, r.stderr
    assert said(r.stderr) == [
        f"quorum: cannot listen on 127.0.0.1:{port}: the port is in use: stop what listens "
        "there, or choose another --port"
    ]


def test_several_workers_on_ipv6_find_the_ipv4_port_busy_too() -> None:
    """uvicorn's socket for several workers is dual-stack: `--host :: --workers 2` with
    the IPv4 port taken passed the check, then failed in uvicorn after "ready"."""
    from api.serving import listen_problem

    try:
        socket.socket(socket.AF_INET6).close()
    except OSError:
        pytest.skip("this machine has no IPv6 sockets")
    with socket.socket() as held:
        held.bind(("0.0.0.0", 0))
        held.listen()
        port = held.getsockname()[1]
        assert listen_problem("::", port) == ""  # one worker: IPv6 only, free
        assert "the port is in use" in listen_problem("::", port, dual_stack=True)
