"""Test helpers, in one place: each module does one thing.

- ports: `free_port`.
- children: `Child` (a command as a child process: wait for a URL or a line, stop it,
  keep its output), `running`, `wait_for`, `log_tail`, `require_binary`.
- quorum_process: `Server` (`quorum serve` as a child process), `rows` (its SQLite file).
- server_thread: `ServerThread` (an ASGI app under uvicorn in a thread).
- config: `write_config` (the shared test panels, panels.yaml, pointed at the judge double),
  `slow_config`, `judge`, `shared_config`.
- cli: `quorum_cli` (run the CLI to completion).
- postgres: `POSTGRES_ENV`, `scratch_postgres`, `plain`.
- reviews: `route_to_humans`, `claim_race`.
- votes: judges.Vote builders (`scored`, `failed`, `unscored`, `shown`, `pair`, `recorded`,
  `votes_of`, `unit`).
- records: recorded-vote datasets for the backtest (`write_set`, `pv`, `bool_vote`, ...).
- library: the shipped rubrics loaded once (`LIB`, `HELPFULNESS`, ...), `COLOURS`.
- examples: published worked examples (`FLEISS_1971`).

Import what a test needs from here (`from tests.support import free_port`); `rows` and the
names of records, library and examples are specific to their tests, so import them from
their module (`from tests.support.records import write_set`). The fixtures in
tests/conftest.py are built from these. Nothing here imports benchmarks/, nor the reverse.
"""

from tests.support.children import REPO, Child, log_tail, require_binary, running, wait_for
from tests.support.cli import quorum_cli
from tests.support.config import judge, shared_config, slow_config, write_config
from tests.support.ports import free_port
from tests.support.postgres import POSTGRES_ENV, plain, scratch_postgres
from tests.support.quorum_process import Server
from tests.support.reviews import claim_race, route_to_humans
from tests.support.server_thread import ServerThread
from tests.support.votes import (
    failed,
    pair,
    recorded,
    scored,
    shown,
    unit,
    unscored,
    votes_of,
)

__all__ = [
    "POSTGRES_ENV",
    "REPO",
    "Child",
    "Server",
    "ServerThread",
    "claim_race",
    "failed",
    "free_port",
    "judge",
    "log_tail",
    "pair",
    "plain",
    "quorum_cli",
    "recorded",
    "require_binary",
    "route_to_humans",
    "running",
    "scored",
    "scratch_postgres",
    "shared_config",
    "shown",
    "slow_config",
    "unit",
    "unscored",
    "votes_of",
    "wait_for",
    "write_config",
]
