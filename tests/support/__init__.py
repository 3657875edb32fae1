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
- votes: judges.Vote builders (`scored`, `failed`, `unscored`, `shown`, `pair`,
  `recorded_vote`, `votes_of`, `unit`) and `concluded` (a permissive panel's verdict).
- records: recorded-vote datasets for the backtest (`write_set`, `pv`, `bool_vote`, ...).
- library: the shipped rubrics loaded once (`LIB`, `HELPFULNESS`, ...), `COLOURS`.
- examples: published worked examples (`FLEISS_1971`).
- chat: `request` (a chat request to the judge double), `MESSAGES`.
- webhooks: `Receiver` (a webhook receiver on loopback).

Import the process and config helpers from here (`from tests.support import free_port`).
Import `rows`, `chat`, `webhooks` and the data builders (votes, records, library,
examples) from their module (`from tests.support.votes import scored`): they load the
packages under test, which the fixtures in conftest.py should not pay for. The fixtures in
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

__all__ = [
    "POSTGRES_ENV",
    "REPO",
    "Child",
    "Server",
    "ServerThread",
    "claim_race",
    "free_port",
    "judge",
    "log_tail",
    "plain",
    "quorum_cli",
    "require_binary",
    "route_to_humans",
    "running",
    "scratch_postgres",
    "shared_config",
    "slow_config",
    "wait_for",
    "write_config",
]
