"""`python -m api.cli ...` run to completion, as a user runs the `quorum` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def quorum_cli(
    *args: str | Path,
    database: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with `args` in this process's environment; output captured as text.
    `database`: the SQLite file it uses (QUORUM_DATABASE_URL); `env`: variables to add."""
    environ = {**os.environ, **(env or {})}
    if database is not None:
        environ["QUORUM_DATABASE_URL"] = f"sqlite:///{database}"
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *map(str, args)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
