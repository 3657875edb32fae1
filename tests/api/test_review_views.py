"""What a reviewer is shown: the conflicting reviews in adjudication (blind review or not),
and pairwise items in an order drawn per item and reviewer, recorded with the decision
while the value stays canonical. Over HTTP against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.services.review_view import shown_order
from tests.api.review_panels import BLIND_DOUBLE, FIRST_PAIR, review_server
from tests.doubles.judge_server import JudgeDouble


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[httpx.Client]:
    with (
        review_server(tmp_path_factory.mktemp("review-views"), double) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


def claim(http: httpx.Client, reviewer: str, panel: str) -> dict[str, Any]:
    r = http.post("/v1/reviews/claim", json={"reviewer": reviewer, "panel": panel})
    assert r.status_code == 200, r.text
    item: dict[str, Any] = r.json()
    return item


def decide(http: httpx.Client, item_id: str, **body: Any) -> httpx.Response:
    return http.post(f"/v1/reviews/{item_id}/verdict", json=body)


def compare(http: httpx.Client, n: int) -> dict[str, Any]:
    pair = {"prompt": f"q{n}", "response_a": f"alpha {n}", "response_b": f"beta {n}"}
    r = http.post("/v1/comparisons", json={"panel": FIRST_PAIR, "input": pair})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == "in_review", body  # judges that always pick the first shown
    return body


def reviewer_for(item_id: str, order: str, prefix: str) -> str:
    """A reviewer name to whom `item_id` is shown in `order`."""
    return next(
        f"{prefix}-{i}" for i in range(64) if shown_order(item_id, f"{prefix}-{i}") == order
    )


def test_the_adjudicator_sees_the_conflicting_reviews_under_blind_review(
    http: httpx.Client,
) -> None:
    r = http.post(
        "/v1/evaluations",
        json={"panel": BLIND_DOUBLE, "input": {"prompt": "p", "response": "r"}},
    )
    assert r.json()["status"] == "in_review"
    first = claim(http, "rev-1", BLIND_DOUBLE)
    assert first["blind"] is True and first["decisions"] == []
    done = decide(http, first["id"], reviewer="rev-1", value=2, comment="misses the point")
    assert done.status_code == 200, done.text
    # The second reviewer decides independently: the first review is not shown to them.
    second = claim(http, "rev-2", BLIND_DOUBLE)
    assert second["id"] == first["id"] and second["stage"] == "review"
    assert second["decisions"] == [] and second["blind"] is True
    split = decide(http, first["id"], reviewer="rev-2", value=5, comment="fully answers")
    assert split.json()["stage"] == "adjudication" and split.json()["status"] == "pending"

    adjudicator = claim(http, "boss", BLIND_DOUBLE)
    assert adjudicator["id"] == first["id"] and adjudicator["stage"] == "adjudication"
    seen = [(d["reviewer"], d["stage"], d["value"], d["comment"]) for d in adjudicator["decisions"]]
    assert seen == [
        ("rev-1", "review", 2, "misses the point"),
        ("rev-2", "review", 5, "fully answers"),
    ]
    # The panel stays hidden: blind review is about the judges, and it still holds.
    assert adjudicator["blind"] is True
    assert adjudicator["evaluation"]["votes"] == [] and adjudicator["evaluation"]["verdict"] is None
    again = http.get(f"/v1/reviews/{first['id']}", params={"reviewer": "boss"}).json()
    assert [d["reviewer"] for d in again["decisions"]] == ["rev-1", "rev-2"]

    final = decide(http, first["id"], reviewer="boss", value=4).json()
    assert final["status"] == "decided" and final["final_value"] == 4
    assert [d["stage"] for d in final["decisions"]] == ["review", "review", "adjudication"]


def test_the_order_is_drawn_per_item_and_reviewer() -> None:
    pairs = [(f"item-{i}", f"reviewer-{j}") for i in range(40) for j in range(10)]
    orders = [shown_order(item, reviewer) for item, reviewer in pairs]
    assert orders == [shown_order(item, reviewer) for item, reviewer in pairs]  # reproducible
    # About half each: 400 fair draws give 200 +- 10 (one sd), so 160..240 is over 4 sd.
    assert 160 <= orders.count("BA") <= 240
    assert {shown_order("item-0", f"reviewer-{j}") for j in range(10)} == {"AB", "BA"}
    assert {shown_order(f"item-{i}", "reviewer-0") for i in range(40)} == {"AB", "BA"}


def test_both_orders_occur_across_reviewers(http: httpx.Client) -> None:
    item = compare(http, 0)
    path = f"/v1/reviews/{item['review_id']}"
    orders = [http.get(path, params={"reviewer": f"r{i}"}).json()["shown_order"] for i in range(12)]
    assert set(orders) == {"AB", "BA"}
    assert orders == [shown_order(item["review_id"], f"r{i}") for i in range(12)]
    again = [http.get(path, params={"reviewer": f"r{i}"}).json()["shown_order"] for i in range(12)]
    assert again == orders  # the same reviewer sees the same order on every load
    assert http.get(path).json()["shown_order"] is None  # no reviewer named: no order
    claimed = claim(http, "r3", FIRST_PAIR)
    assert claimed["id"] == item["review_id"] and claimed["shown_order"] == orders[3]
    http.post(f"{path}/release", json={"reviewer": "r3"})


@pytest.mark.parametrize("order", ["AB", "BA"])
def test_the_canonical_value_is_stored_whatever_the_order_shown(
    http: httpx.Client, order: str
) -> None:
    item = compare(http, 1 if order == "AB" else 2)
    reviewer = reviewer_for(item["review_id"], order, "canon")
    claimed = claim(http, reviewer, FIRST_PAIR)
    while claimed["id"] != item["review_id"]:  # an item left by another test: put aside
        decide(http, claimed["id"], reviewer=reviewer, value="tie")
        claimed = claim(http, reviewer, FIRST_PAIR)
    assert claimed["shown_order"] == order
    # The reviewer preferred response_b: "B" in the canonical frame, whichever came first.
    done = decide(http, item["review_id"], reviewer=reviewer, value="B", shown_order=order)
    assert done.status_code == 200, done.text
    [decision] = done.json()["decisions"]
    assert (decision["value"], decision["shown_order"]) == ("B", order)
    evaluation = http.get(f"/v1/evaluations/{item['id']}").json()
    assert evaluation["verdict"] == {"value": "B", "compliant": None, "source": "human"}
    assert evaluation["winner"] == "b"

    lines = [json.loads(x) for x in http.get("/v1/audit/export").text.splitlines()]
    [record] = [x for x in lines if x["item"] == item["id"]]
    [exported] = record["audit"]["review"]["decisions"]
    assert (exported["value"], exported["shown_order"]) == ("B", order)
    assert record["human"] == ["B"]


def test_shown_order_is_checked(http: httpx.Client) -> None:
    r = http.post(
        "/v1/evaluations",
        json={"panel": "split", "input": {"prompt": "p", "response": "r"}},
    )
    assert r.json()["status"] == "in_review"
    item = claim(http, "checker", "split")
    assert item["shown_order"] is None  # pointwise: no order to draw
    pointwise = decide(http, item["id"], reviewer="checker", value=3, shown_order="AB")
    assert pointwise.status_code == 422 and "pairwise" in pointwise.json()["detail"]
    bad = decide(http, item["id"], reviewer="checker", value=3, shown_order="XY")
    assert bad.status_code == 422
    ok = decide(http, item["id"], reviewer="checker", value=3)
    assert ok.status_code == 200 and ok.json()["decisions"][0]["shown_order"] is None
