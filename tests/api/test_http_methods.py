"""Methods as RFC 9110 has them: a 405's `Allow` names every method of the resource (not
only those of the first route on its path), and HEAD is answered wherever GET is."""

from __future__ import annotations

import json

import httpx
import pytest

PROBLEM_JSON = "application/problem+json"


def allowed(r: httpx.Response) -> set[str]:
    return {m.strip() for m in r.headers["allow"].split(",")}


@pytest.mark.parametrize("path", ["/v1/evaluations", "/v1/panels/helpfulness/calibration"])
def test_allow_names_the_methods_of_every_route_on_the_path(http: httpx.Client, path: str) -> None:
    # Each path has a POST and a GET route, the POST declared first.
    r = http.delete(path)
    assert r.status_code == 405
    assert allowed(r) == {"GET", "HEAD", "POST"}
    assert r.headers["allow"] == "GET, HEAD, POST"  # sorted, comma-separated


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/evaluations", "/docs"])
def test_head_answers_like_get_without_the_body(http: httpx.Client, path: str) -> None:
    got = http.get(path)
    head = http.head(path)
    assert got.status_code == 200 and got.content
    assert head.status_code == got.status_code
    assert head.content == b""

    def compared(r: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in r.headers.items() if k != "date"}

    assert compared(head) == compared(got)
    assert head.headers["content-length"] == str(len(got.content))
    operations = http.get("/openapi.json").json()["paths"][path] if path != "/docs" else {}
    assert "head" not in operations  # HEAD is implied by GET, not documented


def test_head_is_405_where_there_is_no_get(http: httpx.Client) -> None:
    r = http.head("/v1/comparisons")  # POST only
    assert r.status_code == 405 and r.content == b""
    assert r.headers["allow"] == "POST"
    assert r.headers["content-type"] == PROBLEM_JSON
    # ... while beside a GET it is served.
    assert http.head("/v1/evaluations").status_code == 200


def test_a_405_is_still_problem_details(http: httpx.Client) -> None:
    # /v1/models/{model}/transitions (GET, POST) and /v1/models/{model} (GET) both match.
    path = "/v1/models/support-bot/transitions"
    r = http.put(path)
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json() == {
        "type": "about:blank",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "Method Not Allowed",
        "instance": path,
    }
    assert r.headers["allow"] == "GET, HEAD, POST"


def test_head_of_the_audit_export_records_no_export(http: httpx.Client) -> None:
    """A HEAD ran the export and wrote an `exported` event although no line was sent."""

    def exported() -> int:
        r = http.get("/v1/audit/export", params={"stream": "events"})
        assert r.status_code == 200, r.text
        return sum(json.loads(line)["event"] == "exported" for line in r.text.splitlines())

    before = exported()
    head = http.head("/v1/audit/export", params={"stream": "events"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("application/x-ndjson")
    assert exported() == before + 1  # the second GET's own event, none of the HEAD's
    assert http.head("/v1/audit/export", params={"stream": "nope"}).status_code == 422
