"""The reviewer's web page (GET /review) and its two static files.

The page is a server-rendered shell (Jinja2, autoescaped) plus a small script that talks
to the review REST API. Judged text only ever reaches the DOM as text nodes, and a strict
Content-Security-Policy (no inline script, same-origin only) is a second line of defence.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from api.deps import Config
from api.errors import NotFound

HERE = Path(__file__).resolve().parent.parent
STATIC = HERE / "static"
ASSETS = {"review.js": "text/javascript", "review.css": "text/css"}
"""The only files served under /review/static/, with their media types."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
)


def _version(name: str) -> str:
    """A content hash for cache-busting asset URLs."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


VERSIONS = {name: _version(name) for name in ASSETS}

router = APIRouter(tags=["reviews"])


@router.get("/review", response_class=HTMLResponse)
async def review_page(request: Request, config: Config) -> Response:
    """The reviewer's page: claim, read and decide review items in a browser."""
    panels = [
        {"name": p.name, "description": p.description, "mode": config.rubrics[p.rubric].mode.value}
        for p in config.panels.values()
    ]
    return templates.TemplateResponse(
        request,
        "review.html",
        {"panels": panels, "versions": VERSIONS},
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


@router.get("/review/static/{name}", include_in_schema=False)
async def review_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(f"no asset named {name!r}")
    return FileResponse(
        STATIC / name,
        media_type=ASSETS[name],
        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"},
    )
