"""Schemathesis against the live OpenAPI schema of a real server: no 5xx ever, RFC 9457
problem details on every 4xx, successful answers as the schema describes them.

Schemathesis' own pytest integration (`schema.parametrize()`) fails under pytest 9.2 (it
sets `request.node._nodeid`, which pytest 9.2 nodes no longer have), so each operation is a
plain parametrized test drawing cases from `operation.as_strategy()` under Hypothesis:
derandomized, no example database, a bounded number of cases per operation and mode.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

try:
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
except ImportError:  # a dev dependency; the rest of the suite runs without it
    pytest.skip("needs schemathesis (pip install 'schemathesis>=4.32')", allow_module_level=True)

from api.app import create_app
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, write_config

PROBLEM_JSON = "application/problem+json"
EXAMPLES = {"GET": 30, "POST": 15}
"""Cases per operation and generation mode; valid POSTs are judged, so fewer of them."""
POINTWISE = ("jury", "split", "mean-jury", "safety")
"""Fast pointwise panels of the test config (no slow judge)."""


def _operations() -> tuple[list[str], list[str]]:
    """Every operation of the app's schema (the live one is compared with it below), and
    those with input that can be made invalid (a body, a query or header parameter)."""
    spec = create_app().openapi()
    ops = {f"{m.upper()} {p}": op for p, item in spec["paths"].items() for m, op in item.items()}
    negatable = [
        label
        for label, op in ops.items()
        if "requestBody" in op or any(p["in"] != "path" for p in op.get("parameters", []))
    ]
    return sorted(ops), sorted(negatable)


OPERATIONS, NEGATABLE = _operations()
CASES = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE) for label in NEGATABLE
]

UNDOCUMENTED: dict[tuple[str, int, str], str] = {}
"""(operation, status, check) -> a reproduction, for error answers the schema does not
describe; filled while fuzzing, asserted empty by `test_error_answers_are_documented`."""
ERRORS_SEEN: list[int] = []


# -- checks -----------------------------------------------------------------------------


def on_success(check: Callable[..., Any]) -> Callable[..., Any]:
    """A schema-conformance check on 2xx answers only; error answers are held to
    `problem_details` here and to the schema by `record_undocumented`."""

    def wrapped(ctx: Any, response: Any, case: Any) -> Any:
        return check(ctx, response, case) if 200 <= response.status_code < 300 else None

    wrapped.__name__ = check.__name__
    return wrapped


def _media_type(response: Any) -> str:
    value = response.headers.get("content-type", [""])
    return str(value[0] if isinstance(value, list) else value).split(";")[0].strip()


def problem_details(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx is RFC 9457 problem details: the media type and the four core members."""
    if not 400 <= response.status_code < 500:
        return
    media = _media_type(response)
    assert media == PROBLEM_JSON, f"{response.status_code} answered as {media!r}"
    body = response.json()
    missing = {"type", "title", "status", "detail"} - set(body)
    assert not missing, f"problem details without {sorted(missing)}: {body}"
    assert body["status"] == response.status_code, body


def invalid_requests_are_refused(ctx: Any, response: Any, case: Any) -> Any:
    """Schemathesis' `negative_data_rejection`, with 413 counted as a refusal (an oversized
    field may trip the body limit before validation sees it)."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


def valid_requests_pass_validation(ctx: Any, response: Any, case: Any) -> None:
    """A schema-valid request is never refused as malformed. Schemathesis'
    `positive_data_acceptance` also refuses every 422 and 413, which is too strict here: a
    422 `invalid-input` enforces a rule the schema cannot state (`since` before `until`, a
    pairwise panel on /v1/evaluations, a verdict off the rubric's scale) and 413 is the body
    limit (64 KiB in the fixture, while one field may hold 200,000 characters)."""
    if not case.meta.generation.mode.is_positive or response.status_code != 422:
        return
    body = response.json()
    assert not str(body.get("type", "")).endswith("/invalid-request"), (
        f"a schema-valid request failed request validation: {body}"
    )


def record_undocumented(ctx: Any, response: Any, case: Any) -> None:
    """Note (without failing) an error answer whose status, media type or body the schema
    does not describe."""
    if response.status_code < 400:
        return
    ERRORS_SEEN.append(response.status_code)
    for check in (status_code_conformance, content_type_conformance, response_schema_conformance):
        key = (case.operation.label, response.status_code, check.__name__)
        if key in UNDOCUMENTED:
            continue
        try:
            check(ctx, response, case)
        except Exception as exc:  # a schemathesis Failure: keep its title and a repro
            title = str(getattr(exc, "title", "") or type(exc).__name__)
            curl = case.as_curl_command(headers=dict(response.request.headers))
            UNDOCUMENTED[key] = f"{title} ({_media_type(response)}): {curl[:300]}"


CHECKS = [
    not_a_server_error,
    problem_details,
    invalid_requests_are_refused,
    valid_requests_pass_validation,
    record_undocumented,
    *(
        on_success(c)
        for c in (
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        )
    ),
]


# -- the server and its data -------------------------------------------------------------


@pytest.fixture(scope="module")
def known(quorum: ServerThread) -> dict[str, list[str]]:
    """Ids that exist, so fuzzed path parameters hit real records half the time: a decided
    evaluation, one routed to humans (with its review item), a comparison."""
    with httpx.Client(base_url=quorum.url, timeout=30) as client:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            r = client.post(path, json=body)
            assert r.status_code == 200, r.text
            return dict(r.json())

        made = [
            post(
                "/v1/evaluations",
                {"panel": "jury", "input": {"prompt": "p", "response": "[[q=4]]"}},
            ),
            post("/v1/evaluations", {"panel": "split", "input": {"prompt": "p", "response": "r"}}),
            post(
                "/v1/comparisons",
                {"panel": "pair", "input": {"prompt": "p", "response_a": "a", "response_b": "b"}},
            ),
        ]
    reviews = [e["review_id"] for e in made if e.get("review_id")]
    assert reviews, "the split panel should have routed an item to humans"
    return {
        "evaluation_id": [e["id"] for e in made],
        "item_id": reviews,
        "name": ["jury", "split", "pair"],
        "rubric_id": ["helpfulness", "safety", "pairwise-preference"],
    }


@pytest.fixture(scope="module")
def api_schema(quorum: ServerThread) -> Any:
    return schemathesis.openapi.from_url(f"{quorum.url}/openapi.json")


def realistic(case: Any, known: dict[str, list[str]]) -> None:
    """Valid cases name existing records and configured panels half the time, so 2xx answers
    (and judging) are exercised too; never a webhook (the service would call whatever URL
    the fuzzer made up)."""
    if not case.meta.generation.mode.is_positive:
        return
    rng = random.Random(f"{case.path_parameters!r}{case.body!r}{case.query!r}")
    for name in list(case.path_parameters or {}):
        if name in known and rng.random() < 0.5:
            case.path_parameters[name] = rng.choice(known[name])
    if isinstance(case.body, dict):
        case.body.pop("webhook_url", None)
        if "input" in case.body and "profile" not in case.body and rng.random() < 0.5:
            pairwise = case.operation.path.endswith("/comparisons")
            case.body["panel"] = "pair" if pairwise else rng.choice(POINTWISE)


# -- the tests ---------------------------------------------------------------------------


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    paths = api_schema.raw_schema["paths"]
    assert sorted(f"{m.upper()} {p}" for p, ops in paths.items() for m in ops) == OPERATIONS


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{lb}-{m.value}" for lb, m in CASES])
def test_operation(
    api_schema: Any,
    quorum: ServerThread,
    known: dict[str, list[str]],
    label: str,
    mode: GenerationMode,
) -> None:
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]

    @settings(
        max_examples=EXAMPLES[method],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        realistic(case, known)
        case.call_and_validate(base_url=quorum.url, checks=CHECKS, timeout=15)

    try:
        fuzz()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip(f"{label} takes no input that can be made invalid")


def test_error_answers_are_documented() -> None:
    """Every error status an operation answered while fuzzing is in its schema, with the
    media type and body it really has. Runs after `test_operation` (file order)."""
    if not ERRORS_SEEN:
        pytest.skip("run together with test_operation: it records the error answers")
    gaps = "\n".join(
        f"{label} -> {status} [{check}]: {how}"
        for (label, status, check), how in sorted(UNDOCUMENTED.items())
    )
    if UNDOCUMENTED:  # pytrace=False: see `answered_well`
        pytest.fail(f"error answers the schema does not describe:\n{gaps}", pytrace=False)


# -- what fuzzing found, pinned ------------------------------------------------------------


def answered_well(client: httpx.Client, method: str, path: str, **kw: Any) -> None:
    """The request gets a success or a 4xx problem, not a 5xx or a broken connection.

    Failures are reported with `pytest.fail(pytrace=False)`: on CPython 3.11.7 pytest
    formatting a traceback (ast.parse) while the server thread logs one (ast.parse again,
    for the carets) can raise "SystemError: AST constructor recursion depth mismatch"
    (CPython gh-106905, fixed in 3.11.8), an INTERNALERROR that would end the run."""
    try:
        r = client.request(method, path, **kw)
        text = r.text
    except httpx.HTTPError as exc:
        pytest.fail(f"{method} {path}: {type(exc).__name__}: {exc}", pytrace=False)
    if r.status_code >= 500:
        pytest.fail(f"{method} {path}: {r.status_code} {text}", pytrace=False)
    if r.status_code >= 400 and not r.headers["content-type"].startswith(PROBLEM_JSON):
        pytest.fail(
            f"{method} {path}: {r.status_code} as {r.headers['content-type']}", pytrace=False
        )


def test_review_list_offset_beyond_64_bits(http: httpx.Client) -> None:
    answered_well(http, "GET", "/v1/reviews", params={"offset": 2**63})


@pytest.mark.parametrize(
    "params",
    [
        {"until": "0001-01-01T00:02:01Z"},
        {"since": "0001-01-01T00:00:00+01:00", "until": "0001-01-01T05:00:00Z"},
    ],
    ids=["until-near-year-1", "since-before-year-1-in-utc"],
)
def test_audit_export_at_the_edge_of_time(http: httpx.Client, params: dict[str, str]) -> None:
    answered_well(http, "GET", "/v1/audit/export", params=params)


@pytest.fixture
def quorum_on_postgres(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> Iterator[ServerThread]:
    from api.settings import Settings

    root = tmp_path_factory.mktemp("fuzz-pg")
    settings = Settings(database_url=postgres_url, config=write_config(root / "q.yaml", double))
    with ServerThread(create_app(settings)) as server:
        yield server


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/evaluations/a%00b", None),
        ("GET", "/v1/reviews/a%00b", None),
        (
            "POST",
            "/v1/evaluations",
            {"panel": "jury", "input": {"prompt": "p", "response": "r"}, "idempotency_key": "a\0"},
        ),
        ("POST", "/v1/evaluations", {"panel": "jury", "input": {"prompt": "p", "response": "\0"}}),
        (
            "POST",
            "/v1/evaluations",
            {"panel": "jury", "input": {"prompt": "p", "response": "r"}, "metadata": {"k": "\0"}},
        ),
    ],
    ids=["evaluation-id-nul", "review-id-nul", "idempotency-key-nul", "text-nul", "metadata-nul"],
)
def test_bad_requests_on_postgres_are_not_outages(
    quorum_on_postgres: ServerThread, method: str, path: str, body: dict[str, Any] | None
) -> None:
    with httpx.Client(base_url=quorum_on_postgres.url, timeout=15) as client:
        answered_well(client, method, path, json=body)
