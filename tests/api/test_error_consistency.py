"""Errors a newcomer meets first (issue 17, point 7): every 422 has an `errors` list, a
body not sent as JSON is told which header to send, and the per-text limit is in OpenAPI."""

from __future__ import annotations

import httpx

from api.schemas import MAX_TEXT

BODY = b'{"panel": "jury", "input": {"prompt": "p", "response": "r"}}'


def test_every_422_carries_an_errors_list(http: httpx.Client) -> None:
    answers = [
        http.post("/v1/evaluations", json={"panel": "jury", "input": {"prompt": "p"}}),
        # InvalidInput, raised by services, not by the schema
        http.post(
            "/v1/evaluations", json={"panel": "pair", "input": {"prompt": "p", "response": "r"}}
        ),
        http.get("/v1/panels/jury/agreement", params={"window": "forever"}),
        http.get("/v1/reviews", params={"status": "weird"}),
        http.post("/v1/panels/jury/calibration", json={"alpha": 0.1}),
        http.post(
            "/v1/evaluations", content=b"{not json", headers={"content-type": "application/json"}
        ),
    ]
    for r in answers:
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        errors = r.json()["errors"]
        assert errors and all({"location", "message", "type"} <= set(e) for e in errors), r.text


def test_a_body_not_sent_as_json_is_told_the_header(http: httpx.Client) -> None:
    for headers in (
        {},  # no content type at all
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "text/plain"},
    ):
        r = http.post("/v1/evaluations", content=BODY, headers=headers)
        assert r.status_code == 415, (headers, r.text)
        problem = r.json()
        assert "send Content-Type: application/json" in problem["detail"]
        assert "valid dictionary" not in r.text
        assert problem["errors"][0]["location"] == "header.content-type"
    ok = http.post("/v1/evaluations", content=BODY, headers={"content-type": "application/json"})
    assert ok.status_code == 200


def test_the_text_limit_is_in_openapi(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    for model, fields in (
        ("PointwiseInput", ("prompt", "response", "context", "reference")),
        ("PairwiseInput", ("prompt", "response_a", "response_b", "context", "reference")),
    ):
        for field in fields:
            spec = schemas[model]["properties"][field]
            limits = [spec.get("maxLength")] + [a.get("maxLength") for a in spec.get("anyOf", [])]
            assert MAX_TEXT == 200_000 and MAX_TEXT in limits, (model, field, spec)
