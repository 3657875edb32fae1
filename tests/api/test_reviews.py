"""The review queue over HTTP: claim, lease, decide, release, k reviewers, adjudication."""

from __future__ import annotations

import time

import httpx

from tests.support import ServerThread
from tests.support.reviews import claim_race, route_to_humans


def claim(http: httpx.Client, reviewer: str, panel: str | None = None) -> httpx.Response:
    return http.post("/v1/reviews/claim", json={"reviewer": reviewer, "panel": panel})


def test_claim_decide_makes_the_human_verdict_final(http: httpx.Client) -> None:
    [evaluation_id] = route_to_humans(http, "split", 1)
    listed = http.get("/v1/reviews", params={"status": "pending", "panel": "split"}).json()
    assert evaluation_id in {i["evaluation_id"] for i in listed["data"]}

    item = claim(http, "alice", "split").json()
    assert item["evaluation_id"] == evaluation_id
    assert item["status"] == "claimed" and item["claimed_by"] == "alice"
    assert item["blind"] is True  # split panel: blind review by default
    assert item["evaluation"]["votes"] == [] and item["evaluation"]["verdict"] is None
    assert item["rubric"]["id"] == "helpfulness" and item["rubric"]["anchors"]["5"]
    assert item["evaluation"]["input"]["response"] == "r0"
    assert claim(http, "bob", "split").status_code == 204  # the only item is taken
    # open mode: a reader who names nobody, or someone who has not decided, reads blind
    for params in ({}, {"reviewer": "bob"}):
        peek = http.get(f"/v1/reviews/{item['id']}", params=params).json()
        assert peek["blind"] is True and peek["evaluation"]["votes"] == []
        assert peek["uncertainty"] is None and peek["evaluation"]["routing"] is None

    stolen = http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "bob", "value": 4})
    assert stolen.status_code == 409
    off = http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "alice", "value": 7})
    assert off.status_code == 422 and "not on the scale" in off.json()["detail"]

    done = http.post(
        f"/v1/reviews/{item['id']}/verdict",
        json={"reviewer": "alice", "value": 4, "comment": "good enough"},
    ).json()
    assert done["status"] == "decided" and done["final_value"] == 4
    assert done["blind"] is False and len(done["evaluation"]["votes"]) == 3
    ev = http.get(f"/v1/evaluations/{evaluation_id}").json()
    assert ev["status"] == "decided"
    assert ev["verdict"] == {"value": 4, "compliant": True, "source": "human"}
    again = http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "alice", "value": 4})
    assert again.status_code == 409


def test_release_returns_the_item(http: httpx.Client) -> None:
    route_to_humans(http, "split", 1)
    item = claim(http, "carol", "split").json()
    assert (
        http.post(f"/v1/reviews/{item['id']}/release", json={"reviewer": "dave"}).status_code == 409
    )
    released = http.post(f"/v1/reviews/{item['id']}/release", json={"reviewer": "carol"}).json()
    assert released["status"] == "pending" and released["claimed_by"] is None
    assert claim(http, "dave", "split").json()["id"] == item["id"]
    http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "dave", "value": 1})


def test_expired_lease_returns_to_the_queue(http: httpx.Client) -> None:
    route_to_humans(http, "double-review", 1)
    first = claim(http, "erin", "double-review").json()
    assert claim(http, "frank", "double-review").status_code == 204
    time.sleep(1.2)  # the panel's review_lease_s is 1
    taken = claim(http, "frank", "double-review").json()
    assert taken["id"] == first["id"] and taken["claimed_by"] == "frank"
    late = http.post(f"/v1/reviews/{first['id']}/verdict", json={"reviewer": "erin", "value": 3})
    assert late.status_code == 409  # erin's lease ran out and frank holds it now
    http.post(f"/v1/reviews/{first['id']}/release", json={"reviewer": "frank"})


def test_two_reviewers_agree_or_go_to_adjudication(http: httpx.Client) -> None:
    [agree_id, disagree_id] = route_to_humans(http, "double-review", 2)
    # drain anything left by other tests on this panel first
    for reviewer, value in (("g1", 5), ("g2", 5)):
        while True:
            r = claim(http, reviewer, "double-review")
            if r.status_code == 204:
                break
            item = r.json()
            v = value if item["evaluation_id"] == agree_id else (2 if reviewer == "g1" else 4)
            done = http.post(
                f"/v1/reviews/{item['id']}/verdict", json={"reviewer": reviewer, "value": v}
            ).json()
            assert done["blind"] is False
    agreed = http.get(f"/v1/evaluations/{agree_id}").json()
    assert agreed["verdict"]["source"] == "human" and agreed["verdict"]["value"] == 5
    split = http.get(f"/v1/evaluations/{disagree_id}").json()
    assert split["status"] == "in_review"  # 2 vs 4: adjudication
    while True:  # an item left by an earlier test may also await adjudication
        item = claim(http, "judge-h", "double-review").json()
        assert item["stage"] == "adjudication"
        if item["evaluation_id"] == disagree_id:
            break
        http.post(f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "judge-h", "value": 3})
    assert claim(http, "g1", "double-review").status_code == 204
    final = http.post(
        f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "judge-h", "value": 3}
    ).json()
    assert final["status"] == "decided" and final["final_value"] == 3
    assert [d["stage"] for d in final["decisions"]] == ["review", "review", "adjudication"]
    assert http.get(f"/v1/evaluations/{disagree_id}").json()["verdict"]["value"] == 3


def test_twenty_concurrent_claimers_on_sqlite(http: httpx.Client, quorum: ServerThread) -> None:
    ids = route_to_humans(http, "split", 12)
    handed = claim_race(quorum.url, 20)
    assert len(handed) >= 12
    for evaluation_id in ids:
        ev = http.get(f"/v1/evaluations/{evaluation_id}").json()
        assert ev["verdict"]["source"] == "human", ev
    assert claim(http, "late", "split").status_code == 204


def test_bad_review_requests(http: httpx.Client) -> None:
    assert http.get("/v1/reviews", params={"status": "weird"}).status_code == 422
    assert claim(http, "", None).status_code == 422
    nameless = http.post("/v1/reviews/claim", json={})  # open mode: no key says who you are
    assert nameless.status_code == 422 and "reviewer" in nameless.json()["detail"]
    assert claim(http, "x", "no-such-panel").status_code == 404
    r = http.post("/v1/reviews/nope/verdict", json={"reviewer": "a", "value": 1})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_wrong_values_and_decided_items_say_what_is_wrong(http: httpx.Client) -> None:
    route_to_humans(http, "split", 1)
    item = claim(http, "vera", "split").json()
    path = f"/v1/reviews/{item['id']}/verdict"
    for wrong in (None, [4], {"v": 4}, "4", 4.0):
        r = http.post(path, json={"reviewer": "vera", "value": wrong})
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert error["location"] == "body.value", error
        assert "not on the scale of helpfulness" in error["message"], error
    missing = http.post(path, json={"reviewer": "vera"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["location"] == "body.value"
    assert http.post(path, json={"reviewer": "vera", "value": 4}).status_code == 200
    again = http.post(path, json={"reviewer": "walt", "value": 4})
    assert again.status_code == 409
    assert "already decided" in again.json()["detail"]
    assert "claim it first" not in again.json()["detail"]
