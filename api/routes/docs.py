"""The API docs with no CDN: Swagger UI at /docs and ReDoc at /redoc.

The pages are FastAPI's own (`get_swagger_ui_html`, `get_redoc_html`), pointed at the
Swagger UI and ReDoc bundles that the `fastapi-offline` package ships, served here from
/docs/static/. An air-gapped site gets working API docs, and no page runs code fetched
from a third party (FastAPI's defaults load both from a CDN, without integrity hashes).

A Content-Security-Policy keeps the pages on this origin: the one inline script (Swagger
UI's start-up call) is allowed by its hash, and the ReDoc bundle's hard-coded logo from
Redocly's CDN is refused, so reading the docs tells no third party.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.errors import NotFound

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
STATIC = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
"""The only files served under /docs/static/, with their media types."""
VERSION = version("fastapi-offline")
"""Cache-busting for the asset URLs: the bundles change only with the package."""
SWAGGER_PARAMETERS = {"validatorUrl": None}
"""No badge from the public spec validator (it would post our schema to a third party)."""

INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
POLICY = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


def _same_origin(page: HTMLResponse) -> HTMLResponse:
    """`page` with a policy that allows its own inline scripts (by hash) and this origin."""
    body = bytes(page.body).decode()
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in INLINE_SCRIPT.findall(body)
    )
    page.headers["Content-Security-Policy"] = POLICY.format(hashes=hashes)
    page.headers["X-Content-Type-Options"] = "nosniff"
    page.headers["Referrer-Policy"] = "no-referrer"
    return page


def _asset(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}/docs/static/{name}?v={VERSION}"


def _openapi_url(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}{request.app.openapi_url}"


@router.get(DOCS_URL)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: every operation, with "Try it out" against this service."""
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=_asset(request, "swagger-ui-bundle.js"),
        swagger_css_url=_asset(request, "swagger-ui.css"),
        swagger_favicon_url=_asset(request, "favicon.png"),
        oauth2_redirect_url=f"{request.scope.get('root_path', '')}{OAUTH2_REDIRECT_URL}",
        swagger_ui_parameters={**(request.app.swagger_ui_parameters or {}), **SWAGGER_PARAMETERS},
    )
    return _same_origin(page)


@router.get(OAUTH2_REDIRECT_URL)
async def swagger_ui_redirect() -> HTMLResponse:
    return _same_origin(get_swagger_ui_oauth2_redirect_html())


@router.get(REDOC_URL)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the same schema as a three-panel reference."""
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=_asset(request, "redoc.standalone.js"),
        redoc_favicon_url=_asset(request, "favicon.png"),
        with_google_fonts=False,
    )
    return _same_origin(page)


@router.get("/docs/static/{name}")
async def docs_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(f"no asset named {name!r}")
    return FileResponse(
        STATIC / name,
        media_type=ASSETS[name],
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
