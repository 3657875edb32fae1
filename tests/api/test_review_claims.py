"""Claims and decisions per principal: a claim hands a reviewer back the item they hold
(on the panel asked for), and one principal decides an item once, an admin included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.trust_keys import Trust, serve
from tests.doubles.judge_server import JudgeDouble

PAIR = "blind-pair"
"""Two reviewers, blind (tests/api/trust_keys.py)."""


@pytest.fixture
def trust(tmp_path: Path, double: JudgeDouble) -> Iterator[Trust]:
    """A fresh server per test, so each test's items are the only ones in the queue."""
    with serve(tmp_path, double) as server:
        yield server


def claim(trust: Trust, role: str, panel: str | None) -> dict[str, object]:
    r = trust.call(role, "POST", "/v1/reviews/claim", json={"panel": panel})
    assert r.status_code == 200, r.text
    item: dict[str, object] = r.json()
    return item


def test_a_claim_hands_back_the_item_the_reviewer_holds(trust: Trust) -> None:
    for prompt in ("first", "second", "third"):
        trust.route_to_humans("evaluate", PAIR, prompt)
    trust.route_to_humans("evaluate", "split", "elsewhere")
    held = claim(trust, "review", PAIR)
    # the page lost its state: the next claim gives the same item, under the same lease
    for panel in (PAIR, None):
        again = claim(trust, "review", panel)
        assert again["id"] == held["id"] and again["lease_until"] == held["lease_until"]
    other = claim(trust, "review", "split")  # another panel: an item of that panel
    assert other["id"] != held["id"] and other["panel"] == "split"
    items = trust.call("ops", "GET", "/v1/reviews", params={"status": "claimed"}).json()
    assert sorted(i["id"] for i in items["data"]) == sorted([held["id"], other["id"]])
    # someone else is handed the other item of the panel, not alice's
    assert claim(trust, "bob", PAIR)["id"] != held["id"]
    # once decided, alice gets the next item
    r = trust.call("review", "POST", f"/v1/reviews/{held['id']}/verdict", json={"value": 3})
    assert r.status_code == 200
    assert claim(trust, "review", PAIR)["id"] not in (held["id"], other["id"])


def test_an_admin_does_not_adjudicate_a_dispute_they_took_part_in(trust: Trust) -> None:
    item_id = claim_one(trust)
    decide(trust, "ops", item_id, 5, 200)  # ops's own claim: a review-stage decision
    assert claim(trust, "bob", PAIR)["id"] == item_id
    assert decide(trust, "bob", item_id, 1, 200)["stage"] == "adjudication"
    held = claim(trust, "review", PAIR)
    assert held["id"] == item_id and held["stage"] == "adjudication"
    # ops may decide on someone else's claim, but not a second time on this item
    refused = trust.call("ops", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 5})
    assert refused.status_code == 409 and "already decided" in refused.json()["detail"]
    mine = trust.call("review", "GET", f"/v1/reviews/{item_id}").json()
    assert mine["claimed_by"] == "alice"  # the adjudicator's claim was not consumed
    final = decide(trust, "review", item_id, 3, 200)
    assert final["status"] == "decided" and final["final_value"] == 3
    decisions = trust.call("ops", "GET", f"/v1/reviews/{item_id}").json()["decisions"]
    assert [(d["reviewer"], d["stage"]) for d in decisions] == [
        ("ops", "review"),
        ("bob", "review"),
        ("alice", "adjudication"),
    ]


def claim_one(trust: Trust) -> str:
    """An item of PAIR claimed by ops; its id."""
    trust.route_to_humans("evaluate", PAIR, "dispute")
    return str(claim(trust, "ops", PAIR)["id"])


def decide(trust: Trust, role: str, item_id: str, value: int, code: int) -> dict[str, object]:
    r = trust.call(role, "POST", f"/v1/reviews/{item_id}/verdict", json={"value": value})
    assert r.status_code == code, r.text
    body: dict[str, object] = r.json()
    return body


def test_claim_and_release_need_no_body(trust: Trust) -> None:
    """Every field of both is optional, but a bare `curl -X POST` got 415 ("the body must
    be JSON"); a body that is not JSON still does."""
    trust.route_to_humans("evaluate", PAIR, "bodiless")
    r = trust.call("review", "POST", "/v1/reviews/claim")
    assert r.status_code == 200, r.text
    released = trust.call("review", "POST", f"/v1/reviews/{r.json()['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "pending", released.text
    form = httpx.post(
        f"{trust.url}/v1/reviews/claim",
        content=b"panel=x",
        headers={
            "Authorization": f"Bearer {trust.keys['review']}",
            "content-type": "application/x-www-form-urlencoded",
        },
        timeout=30,
    )
    assert form.status_code == 415, form.text
