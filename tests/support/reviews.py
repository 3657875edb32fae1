"""Review-queue steps shared by the review tests on SQLite and PostgreSQL: route items to
humans, race reviewers for them."""

from __future__ import annotations

import concurrent.futures

import httpx


def route_to_humans(http: httpx.Client, panel: str, n: int) -> list[str]:
    """Create n evaluations that the split panel sends to review; their evaluation ids."""
    ids = []
    for i in range(n):
        r = http.post(
            "/v1/evaluations",
            json={"panel": panel, "input": {"prompt": f"p{i}", "response": f"r{i}"}},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "in_review"
        ids.append(r.json()["id"])
    return ids


def claim_race(base_url: str, claimers: int) -> dict[str, str]:
    """`claimers` reviewers claim at once, then each decides what it got.
    Returns {review item id: reviewer}; fails on any double hand-out."""

    def one(i: int) -> tuple[str, str | None]:
        with httpx.Client(base_url=base_url, timeout=60) as c:
            r = c.post("/v1/reviews/claim", json={"reviewer": f"rev-{i}", "panel": "split"})
            assert r.status_code in (200, 204), r.text
            return f"rev-{i}", r.json()["id"] if r.status_code == 200 else None

    with concurrent.futures.ThreadPoolExecutor(claimers) as pool:
        results = list(pool.map(one, range(claimers)))
    got = [(reviewer, item) for reviewer, item in results if item is not None]
    items = [item for _, item in got]
    assert len(items) == len(set(items)), f"an item was handed out twice: {items}"

    def decide(pair: tuple[str, str]) -> int:
        reviewer, item = pair
        with httpx.Client(base_url=base_url, timeout=60) as c:
            r = c.post(f"/v1/reviews/{item}/verdict", json={"reviewer": reviewer, "value": 2})
            return r.status_code

    with concurrent.futures.ThreadPoolExecutor(claimers) as pool:
        codes = list(pool.map(decide, got))
    assert codes == [200] * len(got)
    return {item: reviewer for reviewer, item in got}
