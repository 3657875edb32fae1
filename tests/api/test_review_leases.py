"""A claim whose lease ran out is pending again for every reader: the list filter, the
item's own status, and the queue gauges (`quorum_review_queue_depth`,
`quorum_review_oldest_pending_seconds`), on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, write_config
from tests.support.reviews import route_to_humans

PANEL = "double-review"
"""Its review_lease_s is 1 (tests/support/panels.yaml)."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'q.db'}"


@pytest.fixture
def http(database_url: str, tmp_path: Path, double: JudgeDouble) -> Iterator[httpx.Client]:
    from api.app import create_app
    from api.settings import Settings

    settings = Settings(
        database_url=database_url,
        config=write_config(tmp_path / "q.yaml", double),
        gauge_refresh_s=0.1,
    )
    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


def gauge(http: httpx.Client, name: str, **labels: str) -> float:
    """The value of one sample on /metrics."""
    shown = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in http.get("/metrics").text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == shown:
            return float(match.group(2))
    raise AssertionError(f"no sample {name}{{{shown}}}")


def settled(http: httpx.Client, claimed: float, pending: float) -> bool:
    """The queue gauges show `claimed` and `pending` items on PANEL (within 5 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        depth = {
            s: gauge(http, "quorum_review_queue_depth", panel=PANEL, status=s)
            for s in ("claimed", "pending")
        }
        if depth == {"claimed": claimed, "pending": pending}:
            return True
        time.sleep(0.1)
    return False


def ids(http: httpx.Client, status: str) -> set[str]:
    page = http.get("/v1/reviews", params={"panel": PANEL, "status": status}).json()
    assert page["count"] == len(page["data"])
    return {i["id"] for i in page["data"]}


def test_a_lapsed_claim_is_pending_again(http: httpx.Client) -> None:
    route_to_humans(http, PANEL, 1)
    item = http.post("/v1/reviews/claim", json={"reviewer": "erin", "panel": PANEL}).json()
    assert ids(http, "claimed") == {item["id"]} and ids(http, "pending") == set()
    assert settled(http, claimed=1, pending=0)
    assert gauge(http, "quorum_review_oldest_pending_seconds", panel=PANEL) == 0

    time.sleep(1.2)  # the lease (1 s) runs out; nobody holds the item any more
    assert ids(http, "pending") == {item["id"]} and ids(http, "claimed") == set()
    lapsed = http.get(f"/v1/reviews/{item['id']}").json()
    assert lapsed["status"] == "pending" and lapsed["claimed_by"] is None
    assert lapsed["lease_until"] is None
    assert settled(http, claimed=0, pending=1)
    assert gauge(http, "quorum_review_oldest_pending_seconds", panel=PANEL) > 1

    # anyone may claim it again, the former holder too, and then it is claimed
    again = http.post("/v1/reviews/claim", json={"reviewer": "frank", "panel": PANEL}).json()
    assert again["id"] == item["id"] and again["claimed_by"] == "frank"
    assert ids(http, "claimed") == {item["id"]}
