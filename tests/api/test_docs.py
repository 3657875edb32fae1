"""The API docs pages reference nothing but this service: Swagger UI and ReDoc come from
package files under /docs/static/, and a Content-Security-Policy keeps them on this origin.
(tests/browser/test_api_docs.py renders them in Chromium with the network off.)"""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_local_files(http: httpx.Client, page: str) -> None:
    r = http.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "cdn." not in r.text and "fonts.googleapis" not in r.text
    refs = REFERENCE.findall(r.text)
    assert refs and all(ref.startswith("/docs/static/") for ref in refs), refs
    for ref in refs:
        asset = http.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 1000, ref
        assert "max-age" in asset.headers["cache-control"]
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "img-src 'self' data:;" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_swagger_uis_inline_script_is_allowed_by_its_hash(http: httpx.Client) -> None:
    r = http.get("/docs")
    [script] = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in r.headers["content-security-policy"]
    assert '"validatorUrl": null' in script  # no badge fetched from the public validator


def test_the_asset_list_is_closed(http: httpx.Client) -> None:
    r = http.get("/docs/static/core.py")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert http.get("/docs/static/..%2F__init__.py").status_code == 404
    assert http.get("/openapi.json").json()["paths"]  # the schema itself stays where it was
    assert "/docs" not in http.get("/openapi.json").json()["paths"]


def test_the_schema_declares_the_bearer_key_on_every_v1_operation(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["apiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1/"):
                assert operation["security"] == [{"apiKey": []}, {}], (method, path)
            else:  # /healthz, /readyz, /metrics, the docs pages
                assert "security" not in operation, (method, path)
