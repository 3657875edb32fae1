"""Reviewers are their keys, blind review holds for every reader, tenants do not meet.

The probes of issue 16, rerun: impersonation, one principal satisfying a two-reviewer
panel alone, releasing someone else's claim, blind leaks through get, list and claim,
another tenant's evaluations, reviews and exports, idempotency-key squatting, and the
catalogue of a panel-restricted key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.trust_keys import Trust, serve
from tests.doubles.judge_server import JudgeDouble

PANEL_OPINION = ("fixed-1", "fixed-3", "fixed-5", "low_confidence", "judges_disagree")
"""Strings only the votes, judge verdicts and routing reasons of a blind-pair item hold."""


@pytest.fixture
def trust(tmp_path: Path, double: JudgeDouble) -> Iterator[Trust]:
    """A fresh server per test: a claim hands a reviewer back the item they hold, so a
    test can only reach its own item when no earlier test left others in the queue."""
    with serve(tmp_path, double) as server:
        yield server


def item_of(trust: Trust, evaluation_id: str) -> str:
    return str(trust.call("ops", "GET", f"/v1/evaluations/{evaluation_id}").json()["review_id"])


def claim_item(trust: Trust, role: str, item_id: str) -> dict[str, Any]:
    """`role` claims `item_id`: the only item of the test's server that `role` may claim."""
    r = trust.call(role, "POST", "/v1/reviews/claim", json={"panel": "blind-pair"})
    assert r.status_code == 200, f"{role} was not handed {item_id}: {r.status_code}"
    got: dict[str, Any] = r.json()
    assert got["id"] == item_id, f"{role} was handed {got['id']}, not {item_id}"
    return got


def assert_blind(item: dict[str, Any]) -> None:
    """Nothing of the panel's opinion shows."""
    assert item["blind"] is True
    ev = item["evaluation"]
    assert ev["votes"] == [] and ev["judges"] == []
    assert ev["verdict"] is None and ev["confidence"] is None and ev["winner"] is None
    assert ev["agreement"] is None and ev["routing"] is None
    assert item["uncertainty"] is None and item["reasons"] == []
    text = json.dumps(item)
    leaked = [s for s in PANEL_OPINION if s in text]
    assert not leaked, f"a blind view shows {leaked}"


def test_a_key_cannot_record_as_another_reviewer(trust: Trust) -> None:
    item_id = item_of(trust, trust.route_to_humans("evaluate", "blind-pair", "imp"))
    as_alice = {"panel": "blind-pair", "reviewer": "alice"}
    r = trust.call("bob", "POST", "/v1/reviews/claim", json=as_alice)
    assert r.status_code == 403 and "'bob'" in r.json()["detail"]
    held = claim_item(trust, "review", item_id)  # the "review" key is alice's
    assert held["claimed_by"] == "alice"
    # bob can neither decide as alice nor consume alice's claim as himself
    r = trust.call(
        "bob", "POST", f"/v1/reviews/{item_id}/verdict", json={"reviewer": "alice", "value": 1}
    )
    assert r.status_code == 403
    r = trust.call("bob", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 1})
    assert r.status_code == 409
    assert "alice" not in r.text and "another reviewer" in r.json()["detail"]
    seen = trust.call("bob", "GET", f"/v1/reviews/{item_id}").json()
    assert seen["claimed_by"] == "another reviewer"
    assert trust.call("ops", "GET", f"/v1/reviews/{item_id}").json()["claimed_by"] == "alice"
    # alice decides without naming herself: the key's name is recorded
    done = trust.call("review", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 4})
    assert done.status_code == 200
    [decision] = done.json()["decisions"]
    assert decision["reviewer"] == "alice" and decision["as_admin"] is False


def test_one_principal_counts_once(trust: Trust) -> None:
    evaluation_id = trust.route_to_humans("evaluate", "blind-pair", "double")
    item_id = item_of(trust, evaluation_id)
    claim_item(trust, "review", item_id)
    first = trust.call("review", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 1})
    assert first.json()["status"] == "pending" and first.json()["reviews_done"] == 1
    # alice is never handed the item again: it needs someone else
    r = trust.call("review", "POST", "/v1/reviews/claim", json={"panel": "blind-pair"})
    assert r.status_code == 204, r.text
    again = trust.call("review", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 1})
    assert again.status_code == 409
    ev = trust.call("ops", "GET", f"/v1/evaluations/{evaluation_id}").json()
    assert ev["status"] == "in_review" and ev["verdict"]["source"] == "panel"
    claim_item(trust, "bob", item_id)
    final = trust.call("bob", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 1}).json()
    assert final["status"] == "decided" and final["final_value"] == 1
    # once decided: bob sees alice's decision, without her name
    assert [d["reviewer"] for d in final["decisions"]] == ["reviewer 1", "bob"]
    admin = trust.call("ops", "GET", f"/v1/reviews/{item_id}").json()
    assert [d["reviewer"] for d in admin["decisions"]] == ["alice", "bob"]


def test_only_the_claimant_or_an_admin_releases_or_decides(trust: Trust) -> None:
    item_id = item_of(trust, trust.route_to_humans("evaluate", "blind-pair", "release"))
    claim_item(trust, "review", item_id)
    r = trust.call("bob", "POST", f"/v1/reviews/{item_id}/release", json={})
    assert r.status_code == 409 and "alice" not in r.text
    released = trust.call("ops", "POST", f"/v1/reviews/{item_id}/release", json={})
    assert released.status_code == 200 and released.json()["status"] == "pending"
    claim_item(trust, "bob", item_id)
    decided = trust.call("ops", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 2})
    assert decided.status_code == 200
    [decision] = decided.json()["decisions"]
    assert decision["reviewer"] == "ops" and decision["as_admin"] is True
    # an admin, too, decides only a claimed item
    assert (
        trust.call("ops", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 2}).status_code
        == 409
    )


def test_blind_review_holds_for_get_list_and_claim(trust: Trust) -> None:
    evaluation_id = trust.route_to_humans("evaluate", "blind-pair", "leak")
    item_id = item_of(trust, evaluation_id)
    assert_blind(claim_item(trust, "review", item_id))
    # a reviewer's key that may also evaluate reads the evaluation itself blind too;
    # the submitting app (evaluate only) and admins read it whole
    peek = trust.call("carol", "GET", f"/v1/evaluations/{evaluation_id}").json()
    assert peek["votes"] == [] and peek["verdict"] is None and peek["routing"] is None
    whole = trust.call("evaluate", "GET", f"/v1/evaluations/{evaluation_id}").json()
    assert len(whole["votes"]) == 3 and whole["verdict"]["source"] == "panel"
    for role in ("review", "bob"):
        assert_blind(trust.call(role, "GET", f"/v1/reviews/{item_id}").json())
        listed = trust.call(
            role, "GET", "/v1/reviews", params={"panel": "blind-pair", "limit": 500}
        )
        [mine] = [i for i in listed.json()["data"] if i["id"] == item_id]
        assert_blind(mine)
    # nobody reads as someone else
    assert (
        trust.call("bob", "GET", f"/v1/reviews/{item_id}", params={"reviewer": "alice"}).status_code
        == 403
    )
    assert trust.call("bob", "GET", "/v1/reviews", params={"reviewer": "alice"}).status_code == 403
    done = trust.call("review", "POST", f"/v1/reviews/{item_id}/verdict", json={"value": 5}).json()
    assert done["blind"] is False and len(done["evaluation"]["votes"]) == 3
    assert done["uncertainty"] is not None and done["reasons"]
    # bob has not decided: still blind, and alice's decision is not shown to him
    bobs = trust.call("bob", "GET", f"/v1/reviews/{item_id}").json()
    assert_blind(bobs)
    assert bobs["decisions"] == [] and bobs["reviews_done"] == 1
    assert_blind(claim_item(trust, "bob", item_id))
    admin = trust.call("ops", "GET", f"/v1/reviews/{item_id}").json()
    assert admin["blind"] is False and admin["decisions"][0]["value"] == 5
    trust.call("bob", "POST", f"/v1/reviews/{item_id}/release", json={})


def test_tenants_do_not_see_each_other(trust: Trust) -> None:
    acme = trust.route_to_humans("evaluate", "blind-pair", "acme-secret")
    globex = trust.route_to_humans("rival", "blind-pair", "globex-secret")
    acme_item, globex_item = (
        item_of(trust, acme),
        trust.call("rival", "GET", f"/v1/evaluations/{globex}").json()["review_id"],
    )
    for path in (f"/v1/evaluations/{acme}", f"/v1/reviews/{acme_item}"):
        r = trust.call("rival", "GET", path)
        assert r.status_code == 404 and "acme-secret" not in r.text
    assert trust.call("ops", "GET", f"/v1/evaluations/{globex}").status_code == 404
    assert (
        trust.call(
            "ops", "POST", f"/v1/reviews/{globex_item}/verdict", json={"value": 1}
        ).status_code
        == 404
    )
    listed = trust.call("rival", "GET", "/v1/reviews", params={"limit": 500}).json()["data"]
    assert globex_item in {i["id"] for i in listed} and acme_item not in {i["id"] for i in listed}
    # globex's reviewers are handed globex's items only (asked again: the one they hold)
    for _ in range(2):
        r = trust.call("rival", "POST", "/v1/reviews/claim", json={"panel": "blind-pair"})
        assert r.status_code == 200 and r.json()["id"] == globex_item
    trust.call("rival", "POST", f"/v1/reviews/{globex_item}/verdict", json={"value": 1})
    r = trust.call("rival", "POST", "/v1/reviews/claim", json={"panel": "blind-pair"})
    assert r.status_code == 204

    # audit exports: each tenant its own; root (every tenant) both
    def exported(role: str) -> set[str]:
        r = trust.call(role, "GET", "/v1/audit/export")
        assert r.status_code == 200
        return {json.loads(line)["item"] for line in r.text.splitlines()}

    assert globex in exported("rival") and acme not in exported("rival")
    assert acme in exported("ops") and globex not in exported("ops")
    assert {acme, globex} <= exported("root")


def test_rows_of_no_tenant_are_for_admins_of_every_tenant(trust: Trust) -> None:
    body = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
    own = trust.call("root", "POST", "/v1/evaluations", json=body).json()["id"]
    assert trust.call("root", "GET", f"/v1/evaluations/{own}").status_code == 200
    for role in ("ops", "evaluate", "rival"):
        assert trust.call(role, "GET", f"/v1/evaluations/{own}").status_code == 404


def test_idempotency_keys_are_per_tenant(trust: Trust) -> None:
    body = {
        "panel": "jury",
        "input": {"prompt": "p", "response": "[[q=4]]"},
        "idempotency_key": "order-1",
    }
    squat = trust.call(
        "rival",
        "POST",
        "/v1/evaluations",
        json={**body, "input": {"prompt": "x", "response": "[[q=1]]"}},
    )
    assert squat.status_code == 200
    mine = trust.call("evaluate", "POST", "/v1/evaluations", json=body)
    assert mine.status_code == 200 and mine.json()["id"] != squat.json()["id"]
    assert (
        trust.call("evaluate", "POST", "/v1/evaluations", json=body).json()["id"]
        == mine.json()["id"]
    )
    theirs = trust.call(
        "rival",
        "POST",
        "/v1/evaluations",
        json={**body, "input": {"prompt": "x", "response": "[[q=1]]"}},
    )
    assert theirs.json()["id"] == squat.json()["id"]
    # a different request under one's own key: 409, naming one's own evaluation only
    clash = trust.call("evaluate", "POST", "/v1/evaluations", json={**body, "metadata": {"v": 2}})
    assert clash.status_code == 409
    assert mine.json()["id"] in clash.text and squat.json()["id"] not in clash.text


def test_a_panel_restricted_key_sees_its_panels_only(trust: Trust) -> None:
    panels = trust.call("narrow", "GET", "/v1/panels").json()
    assert [p["name"] for p in panels["data"]] == ["jury"] and panels["count"] == 1
    hidden = trust.call("narrow", "GET", "/v1/panels/split")
    assert hidden.status_code == 404 and "double-review" not in hidden.text
    rubrics = {r["id"] for r in trust.call("narrow", "GET", "/v1/rubrics").json()["data"]}
    assert rubrics == {"helpfulness"}
    for path in ("/v1/panels/split/agreement", "/v1/panels/split/calibration"):
        assert trust.call("narrow", "GET", path).status_code == 404
    body = {"alpha": 0.1, "delta": 0.1, "apply": True}
    assert (
        trust.call("narrow", "POST", "/v1/panels/split/calibration", json=body).status_code == 404
    )
    trust.call(
        "narrow",
        "POST",
        "/v1/evaluations",
        json={"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}},
    )
    trust.route_to_humans("evaluate", "split", "not-for-narrow")
    lines = trust.call("narrow", "GET", "/v1/audit/export").text.splitlines()
    assert lines and {json.loads(line)["dataset"] for line in lines} == {"jury"}
    listed = trust.call("narrow", "GET", "/v1/reviews", params={"limit": 500}).json()["data"]
    assert all(i["panel"] == "jury" for i in listed)


def test_keys_cli_tenants(trust: Trust) -> None:
    from tests.api.test_auth import cli, create

    dave = create(trust.db, "--name", "dave", "--scopes", "review", "--tenant", "acme")
    assert trust.call(dave, "GET", "/v1/reviews").status_code == 200
    listing = cli(trust.db, "keys", "list").stdout
    assert any("dave" in line and "tenant=acme" in line for line in listing.splitlines())
    assert any("root" in line and "tenant=*" in line for line in listing.splitlines())
    refused = cli(trust.db, "keys", "create", "--name", "x", "--scopes", "review", "--tenant", "*")
    assert refused.returncode == 2 and "only admin keys" in refused.stderr
    bad = cli(trust.db, "keys", "create", "--name", "x", "--tenant", "a b")
    assert bad.returncode == 2 and "tenant" in bad.stderr
    own = cli(trust.db, "keys", "create", "--name", "solo", "--scopes", "evaluate")
    key_id = own.stdout.split()[2]
    assert f"tenant {key_id}" in own.stdout  # by default a tenant of its own
