"""What a request may carry as text and numbers, alike on SQLite and PostgreSQL: no NUL in
free-text fields (PostgreSQL cannot store one), no NaN or Infinity in metadata (JSON has
no such number), and `Prefer: respond-async` with parameters of its own."""

from __future__ import annotations

import httpx

from tests.support.reviews import route_to_humans

NUL = "a\x00b"


def _problem(r: httpx.Response, status: int = 422) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = r.json()
    return body


def test_a_nul_in_a_reviewers_text_is_refused_and_nothing_is_decided(http: httpx.Client) -> None:
    (evaluation_id,) = route_to_humans(http, "split", 1)
    review = http.get(f"/v1/evaluations/{evaluation_id}").json()["review_id"]
    verdict = {"reviewer": "alice", "value": 3}
    for body in ({**verdict, "comment": NUL}, {**verdict, "reviewer": NUL}):
        problem = _problem(http.post(f"/v1/reviews/{review}/verdict", json=body))
        assert "NUL" in str(problem["detail"])
    assert _problem(http.post("/v1/reviews/claim", json={"reviewer": NUL}))
    assert http.get(f"/v1/evaluations/{evaluation_id}").json()["status"] == "in_review"
    claimed = http.post("/v1/reviews/claim", json={"reviewer": "alice", "panel": "split"})
    assert claimed.status_code == 200 and claimed.json()["id"] == review, claimed.text
    decided = http.post(f"/v1/reviews/{review}/verdict", json={**verdict, "comment": "fine"})
    assert decided.status_code == 200, decided.text


def test_a_nul_in_a_model_name_or_a_transition_reason_is_refused(http: httpx.Client) -> None:
    path = "/v1/models/nul-reason/transitions"
    problem = _problem(http.post(path, json={"to": "validation", "reason": NUL}))
    assert "NUL" in str(problem["detail"])
    assert http.get(path).json()["count"] == 0
    for request in (
        ("GET", "/v1/models/nul%00model"),
        ("GET", "/v1/models/nul%00model/transitions"),
        ("POST", "/v1/models/nul%00model/evaluate"),
    ):
        problem = _problem(http.request(*request))
        assert "NUL" in str(problem["detail"]), request
    moved = http.post(path, json={"to": "validation", "reason": "first review"})
    assert moved.status_code == 201, moved.text


def test_nan_or_infinity_in_metadata_is_refused_not_stored_as_null(http: httpx.Client) -> None:
    for number in ("NaN", "-Infinity", "Infinity", "1e400"):
        raw = (
            '{"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}, '
            f'"metadata": {{"trace": [{{"x": {number}}}]}}}}'
        )
        r = http.post(
            "/v1/evaluations", content=raw.encode(), headers={"content-type": "application/json"}
        )
        assert "NaN or an infinite number" in str(_problem(r)["detail"]), number
    body = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
    fine = http.post("/v1/evaluations", json={**body, "metadata": {"x": 1.5, "y": None}})
    assert fine.status_code == 200 and fine.json()["metadata"] == {"x": 1.5, "y": None}


def test_respond_async_with_parameters_is_asynchronous(http: httpx.Client) -> None:
    body = {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
    for prefer in ("respond-async; wait=5", "handling=lenient, Respond-Async ;wait=1"):
        r = http.post("/v1/evaluations", json=body, headers={"Prefer": prefer})
        assert r.status_code == 202, (prefer, r.text)
    assert http.post("/v1/evaluations", json=body, headers={"Prefer": "wait=5"}).status_code == 200
