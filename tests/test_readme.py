"""The README as a new user meets it (issue 17, points 3 and 10): the "Try it" block,
pasted as is into a shell (with the judge double, on free ports), ends in a verdict; and
the README links nothing outside the repository."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TRY_IT = "### Try it with no provider at all"


def section(text: str, heading: str) -> str:
    start = text.index(heading) + len(heading)
    following = re.search(r"^#{1,3} ", text[start:], re.MULTILINE)
    return text[start : start + following.start()] if following else text[start:]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_try_it_block_pasted_as_is_shows_a_verdict(tmp_path: Path) -> None:
    if shutil.which("make") is None or shutil.which("curl") is None:
        pytest.skip("needs make and curl, as the README does")
    if not (ROOT / ".venv" / "bin" / "quorum").exists():
        pytest.skip("needs the checkout's .venv (`make setup`), which the block reuses")
    blocks = shell_blocks(section(README.read_text(), TRY_IT))
    assert len(blocks) == 1, "the Try it section has one shell block to paste"
    # A checkout of its own (the block writes quorum.yaml and quorum.db where it runs),
    # sharing this checkout's venv, so `make setup` finds it up to date.
    for name in ("Makefile", "pyproject.toml", "client", "tests", ".venv", "quorum.example.yaml"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUORUM_")}
    env.update(PORT=str(free_port()), DOUBLE_PORT=str(free_port()))
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        shell = subprocess.Popen(
            ["bash", "-c", blocks[0]],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its background jobs share this process group
        )
        try:
            shell.wait(timeout=240)
        finally:
            for sig in (signal.SIGTERM, signal.SIGKILL):  # the servers it left running
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(shell.pid, sig)
                time.sleep(1)
    shown = out.read_text()
    assert shell.returncode == 0, shown[-3000:]
    verdict = re.search(r'"verdict":\{"value":(\d)', shown)
    assert verdict and verdict.group(1) == "5", shown[-3000:]
    assert '"status":"decided"' in shown


def test_the_readme_links_nothing_outside_the_repository() -> None:
    text = README.read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets
    for target in targets:
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{target} points outside the repository"
        assert path.exists(), f"{target} does not exist"
    assert "../shared" not in text
