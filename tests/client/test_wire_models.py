"""The client's own wire models cannot drift from the service's: each is compared, field by
field, with the component of the same name in the OpenAPI schema `api.app` serves (names,
required-ness, types, enums, formats, limits, defaults; titles and descriptions aside).

The client may not import the server (it is installed alone), so its models are copies;
this is what keeps them copies. Add a field to `EvaluationPublic` on the server and
`test_the_client_models_are_the_server_models` fails naming it.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from typing import Any

import pytest
from pydantic import BaseModel

from api.app import create_app
from quorum_client import Endpoints
from quorum_client._governance import GOVERNANCE_ANSWERS, GOVERNANCE_REQUESTS
from quorum_client._models import ANSWERS
from quorum_client._requests import REQUESTS

REF = "#/components/schemas/{model}"
ENDPOINTS: dict[str, tuple[str, str, str | None, str]] = {
    "evaluate": ("post", "/v1/evaluations", "EvaluationCreate", "EvaluationPublic"),
    "compare": ("post", "/v1/comparisons", "ComparisonCreate", "EvaluationPublic"),
    "batch": ("post", "/v1/evaluations/batch", "BatchCreate", "Page_BatchResult_"),
    "get_evaluation": ("get", "/v1/evaluations/{evaluation_id}", None, "EvaluationPublic"),
    "evaluations": ("get", "/v1/evaluations", None, "Page_EvaluationPublic_"),
    "panels": ("get", "/v1/panels", None, "Page_PanelPublic_"),
    "rubrics": ("get", "/v1/rubrics", None, "Page_RubricPublic_"),
    "reviews": ("get", "/v1/reviews", None, "Page_ReviewItemPublic_"),
    "claim": ("post", "/v1/reviews/claim", "ClaimRequest", "ReviewItemPublic"),
    "decide": ("post", "/v1/reviews/{item_id}/verdict", "VerdictRequest", "ReviewItemPublic"),
    "release": ("post", "/v1/reviews/{item_id}/release", "ReleaseRequest", "ReviewItemPublic"),
    "agreement": ("get", "/v1/panels/{name}/agreement", None, "AgreementReport"),
    "assess": ("post", "/v1/assessments", "AssessmentCreate", "AssessmentPublic"),
    "get_assessment": ("get", "/v1/assessments/{assessment_id}", None, "AssessmentPublic"),
    "profiles": ("get", "/v1/profiles", None, "Page_ProfilePublic_"),
    "models": ("get", "/v1/models", None, "Page_ModelPublic_"),
    "model": ("get", "/v1/models/{model}", None, "ModelPublic"),
    "transitions": ("get", "/v1/models/{model}/transitions", None, "Page_TransitionPublic_"),
    "transition": (
        "post",
        "/v1/models/{model}/transitions",
        "TransitionCreate",
        "TransitionPublic",
    ),
    "evaluate_model": ("post", "/v1/models/{model}/evaluate", None, "EvaluateResult"),
    "recommendation": ("get", "/v1/routing/recommendation", None, "RecommendationPublic"),
    "compliance": ("get", "/v1/compliance", None, "ComplianceMatrix"),
}
"""Client method -> (HTTP method, OpenAPI path, request body, 200 answer) on the server."""
ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "evaluate": ("jury", "p", "r"),
    "compare": ("pair", "p", "a", "b"),
    "batch": ([{"panel": "jury", "input": {"prompt": "p", "response": "r"}}],),
    "get_evaluation": ("e1",),
    "evaluations": ("jury", "decided"),
    "panels": (),
    "rubrics": (),
    "reviews": ("pending", "jury"),
    "claim": ("alice", "jury"),
    "decide": ("i1", "alice", 4),
    "release": ("i1", "alice"),
    "agreement": ("jury", "30m"),
    "assess": ("security", "p", "r"),
    "get_assessment": ("a1",),
    "profiles": (),
    "models": (),
    "model": ("openai/gpt-4o",),
    "transitions": ("openai/gpt-4o",),
    "transition": ("openai/gpt-4o", "quarantine", "leaks data"),
    "evaluate_model": ("openai/gpt-4o",),
    "recommendation": ("support-bot", "security"),
    "compliance": ("security", "7d"),
}
ANSWER_NAMES = {m.__name__ for m in (*ANSWERS, *GOVERNANCE_ANSWERS)}
PAGE = re.compile(r"^Page_(\w+)_$")


def dumps(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True)


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return create_app().openapi()


def client_components() -> dict[str, dict[str, Any]]:
    """Each client model's JSON schema as FastAPI would publish it: request bodies in
    validation mode, answers in serialization mode, references as component names."""
    requests, answers = (*REQUESTS, *GOVERNANCE_REQUESTS), (*ANSWERS, *GOVERNANCE_ANSWERS)
    models: list[tuple[type[BaseModel], str]] = [(m, "validation") for m in requests]
    models += [(m, "serialization") for m in answers]
    schemas = {}
    for model, mode in models:
        schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        schema.pop("$defs", None)  # nested models are compared under their own names
        schemas[model.__name__] = schema
    return schemas


def normalise(schema: Any) -> Any:
    """A schema without what documents it (title, description): what the wire carries.
    FastAPI leaves out a `"default": null`; so does this (required-ness is compared)."""
    if isinstance(schema, list):
        return [normalise(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("title", "description") or (key == "default" and value is None):
            continue
        if key == "properties":
            out[key] = {name: normalise(field) for name, field in value.items()}
        else:
            out[key] = normalise(value)
    return out


def differences(name: str, server: dict[str, Any], client: dict[str, Any]) -> list[str]:
    """Every way the client's schema of model `name` differs from the server's, field by
    field; empty when they agree."""
    s, c = normalise(server), normalise(client)
    if name in ANSWER_NAMES:
        # A server answer model may forbid extra fields (it builds them); the client reads
        # answers ignoring what it does not know, so that an older client keeps reading a
        # newer service. Request bodies are compared with their `additionalProperties`.
        s.pop("additionalProperties", None)
        c.pop("additionalProperties", None)
    s_fields, c_fields = s.pop("properties", {}), c.pop("properties", {})
    s_required, c_required = set(s.pop("required", [])), set(c.pop("required", []))
    found = [
        f"{name}.{f}: the server has it ({dumps(s_fields[f])}), the client does not"
        for f in sorted(s_fields.keys() - c_fields.keys())
    ]
    found += [
        f"{name}.{f}: the client has it, the server does not"
        for f in sorted(c_fields.keys() - s_fields.keys())
    ]
    for f in sorted(s_fields.keys() & c_fields.keys()):
        if (f in s_required) != (f in c_required):
            side = "server" if f in s_required else "client"
            found.append(f"{name}.{f}: required on the {side} only")
        if s_fields[f] != c_fields[f]:
            found.append(f"{name}.{f}: server {dumps(s_fields[f])} != client {dumps(c_fields[f])}")
    if s != c:
        found.append(f"{name}: server {dumps(s)} != client {dumps(c)}")
    return found


def drift(server_components: dict[str, Any]) -> list[str]:
    """Differences between every client model and the server component of its name."""
    found = []
    for name, schema in client_components().items():
        if name not in server_components:
            found.append(f"{name}: the server publishes no component of this name")
            continue
        found += differences(name, server_components[name], schema)
    return found


def refs(schema: Any) -> set[str]:
    """The component names a schema refers to."""
    if isinstance(schema, list):
        return set().union(*(refs(s) for s in schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found = {schema["$ref"].rsplit("/", 1)[1]} if "$ref" in schema else set()
    return found.union(*(refs(v) for k, v in schema.items() if k != "$ref"))


def operation(openapi: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    assert path in openapi["paths"], f"the server has no path {path}"
    assert method in openapi["paths"][path], f"the server has no {method.upper()} {path}"
    return openapi["paths"][path][method]


def body_ref(op: dict[str, Any]) -> str | None:
    if "requestBody" not in op:
        return None
    [name] = refs(op["requestBody"]["content"]["application/json"]["schema"])
    return name


def answer_ref(op: dict[str, Any]) -> str:
    ok = op["responses"].get("200") or op["responses"]["201"]  # 201: a transition is created
    [name] = refs(ok["content"]["application/json"]["schema"])
    return name


def test_the_client_models_are_the_server_models(openapi: dict[str, Any]) -> None:
    found = drift(openapi["components"]["schemas"])
    assert not found, "the client's wire models drifted from the server's:\n" + "\n".join(found)


def test_the_client_has_a_model_for_everything_its_endpoints_carry(
    openapi: dict[str, Any],
) -> None:
    components = openapi["components"]["schemas"]
    reached: set[str] = set()
    todo = [
        name
        for method, path, _, _ in ENDPOINTS.values()
        for name in refs(operation(openapi, method, path))
    ]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += refs(components[name])
    pages = {n for n in reached if PAGE.match(n)}
    for page in pages:  # the client reads a page's `data` list into the item model
        [item] = refs(components[page])
        assert normalise(components[page])["properties"]["data"] == {
            "type": "array",
            "items": {"$ref": REF.format(model=item)},
        }
    reached -= pages | {"Problem", "HTTPValidationError", "ValidationError"}  # error bodies
    assert reached == set(client_components())


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_each_client_method_calls_the_server_operation(openapi: dict[str, Any], name: str) -> None:
    method, path, body, answer = ENDPOINTS[name]
    op = operation(openapi, method, path)
    assert body_ref(op) == body
    assert answer_ref(op) == answer
    build = getattr(Endpoints, name)
    page = PAGE.match(answer)
    parsed = f"list[{page.group(1)}]" if page else answer
    returns = inspect.signature(build).return_annotation
    assert returns in (f"Call[{parsed}]", f"Call[{parsed} | None]")
    call = build(*ARGUMENTS[name])
    assert call.method == method.upper()
    assert re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)), call.path)
    query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    assert set(call.params or {}) <= query


def test_every_endpoint_of_the_client_is_checked() -> None:
    public = {n for n, _ in inspect.getmembers(Endpoints, inspect.isfunction) if n[0] != "_"}
    assert public == set(ENDPOINTS)


def test_the_comparison_catches_a_drift(openapi: dict[str, Any]) -> None:
    """The check above is not vacuous: the kinds of change a server makes are reported."""
    server = copy.deepcopy(openapi["components"]["schemas"])
    evaluation = server["EvaluationPublic"]
    evaluation["properties"]["reviewer_note"] = {"type": "string", "title": "Reviewer Note"}
    evaluation["required"].remove("kind")
    evaluation["properties"]["status"]["enum"].append("cancelled")
    del server["VotePublic"]["properties"]["cached"]
    server["PairwiseInput"]["properties"]["prompt"]["maxLength"] = 100
    del server["RubricRef"]
    found = drift(server)
    assert sorted(f.split(":", 1)[0] for f in found) == [
        "EvaluationPublic.kind",
        "EvaluationPublic.reviewer_note",
        "EvaluationPublic.status",
        "PairwiseInput.prompt",
        "RubricRef",
        "VotePublic.cached",
    ], found
    said = dict(f.split(": ", 1) for f in found)
    assert said["EvaluationPublic.kind"] == "required on the client only"
    assert said["EvaluationPublic.reviewer_note"].startswith("the server has it")
    assert '"cancelled"' in said["EvaluationPublic.status"]
    assert said["PairwiseInput.prompt"].startswith('server {"maxLength": 100')
    assert said["RubricRef"] == "the server publishes no component of this name"
    assert said["VotePublic.cached"] == "the client has it, the server does not"
