"""The API docs render with the network off: Swagger UI at /docs and ReDoc at /redoc, from
package files, in headless Chromium that resolves no host but loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.pages import page_errors, until
from tests.conftest import ServerThread

CDN_DOCS_WAIT_S = 3.0


def operation(http: httpx.Client, method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = http.get("/openapi.json").json()["paths"][path][method]
    return op


def third_party(driver: WebDriver, origin: str) -> list[str]:
    """The resources the page asked for from anywhere but `origin`."""
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
    )
    assert any(u.startswith(f"{origin}/docs/static/") for u in urls), urls
    return [u for u in urls if not u.startswith(f"{origin}/")]


def refused(errors: list[str], url: str) -> bool:
    """The console says the Content-Security-Policy blocked `url`."""
    return any(url in e and "Content Security Policy" in e and "blocked" in e for e in errors)


def test_swagger_ui_renders_offline(
    browser: WebDriver, quorum: ServerThread, http: httpx.Client
) -> None:
    op = operation(http, "post", "/v1/evaluations")
    element_id = f"operations-{op['tags'][0]}-{op['operationId']}"
    browser.get(f"{quorum.url}/docs")
    block = until(browser, lambda d: d.find_element(By.ID, element_id), "the POST operation")
    assert block.find_element(By.CLASS_NAME, "opblock-summary-method").text == "POST"
    path = block.find_element(By.CLASS_NAME, "opblock-summary-path")
    assert path.get_attribute("data-path") == "/v1/evaluations"
    count = len(browser.find_elements(By.CSS_SELECTOR, ".opblock"))
    assert count == sum(len(p) for p in http.get("/openapi.json").json()["paths"].values())
    assert third_party(browser, quorum.url) == []
    assert page_errors(browser) == []


def test_redoc_renders_offline(
    browser: WebDriver, quorum: ServerThread, http: httpx.Client
) -> None:
    op = operation(http, "post", "/v1/evaluations")
    browser.get(f"{quorum.url}/redoc")
    section = until(
        browser,
        lambda d: d.find_element(By.ID, f"operation/{op['operationId']}"),
        "the POST operation",
    )
    assert op["summary"] in section.text
    assert browser.find_elements(By.CSS_SELECTOR, f'[id="operation/{op["operationId"]}"] h2')
    # The ReDoc bundle asks for its logo from Redocly's CDN; the page's policy refuses it.
    errors = page_errors(browser)
    outside = third_party(browser, quorum.url)
    assert outside == ["https://cdn.redoc.ly/redoc/logo-mini.svg"]
    assert all(refused(errors, url) for url in outside), errors
    assert [e for e in errors if not any(url in e for url in outside)] == []


@pytest.fixture(scope="module")
def cdn_docs() -> Iterator[ServerThread]:
    """A bare FastAPI app with its default, CDN-loaded docs."""
    app = FastAPI(title="cdn")

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    with ServerThread(app) as server:
        yield server


def test_the_browser_is_offline_so_cdn_docs_stay_blank(
    browser: WebDriver, cdn_docs: ServerThread
) -> None:
    """The control: FastAPI's default /docs (Swagger UI from a CDN) renders nothing in this
    browser, so the tests above show that Quorum's docs need no network."""
    browser.get(f"{cdn_docs.url}/docs")
    with pytest.raises(AssertionError, match="waited"):
        until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"), "operations")
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock") == []
