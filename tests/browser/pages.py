"""Helpers for the browser tests: headless Chromium, waits, and the reviewer page's steps.

Chromium and chromedriver are Debian's (`.ci/browser-deps`); Selenium Manager is never
used (the driver path is given), so nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 10
REVIEWER = "Ada Reviewer"
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
"""Every host but loopback fails to resolve: the browser has no network beyond Quorum."""
REFRESH_IMAGES = "QUORUM_REFRESH_DOCS_IMAGES"
"""Set to 1 to rewrite the screenshots under docs/img (left alone otherwise, so a test run
leaves the tree clean)."""

T = TypeVar("T")


def _missing_browser() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.is_file() and os.access(path, os.X_OK)):
            return f"{path} not found: run .ci/browser-deps"
    return None


@contextmanager
def chromium(profile: Path, *extra: str) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile and no network but loopback; always quit.
    Skipped without Chromium, failing instead when CI=true."""
    missing = _missing_browser()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--lang=en-US",
        OFFLINE,
        f"--user-data-dir={profile}",
        *extra,
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")  # belt and braces: Selenium Manager stays offline
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
    try:
        driver.set_page_load_timeout(WAIT_S)
        driver.set_script_timeout(WAIT_S)
        yield driver
    finally:
        driver.quit()


def refresh_images() -> bool:
    """Whether this run should rewrite the documentation's screenshots."""
    return os.environ.get(REFRESH_IMAGES) == "1"


# --- waits and reads ---------------------------------------------------------------------


def until(driver: WebDriver, condition: Callable[[WebDriver], T], what: str) -> T:
    """Wait up to WAIT_S; on time-out, say what the page shows instead."""
    try:
        return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(condition)
    except TimeoutException:
        state = driver.execute_script(
            "const t = (id) => (document.getElementById(id) || {}).textContent;"
            "return {status: t('status'), error: t('error'), title: t('item-title'),"
            " stored: localStorage.getItem('quorum.review.current'), url: location.href};"
        )
        raise AssertionError(f"waited {WAIT_S} s for {what}; the page shows {state}") from None


def text(driver: WebDriver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).get_attribute("textContent") or ""


def shown(driver: WebDriver, element_id: str) -> bool:
    return driver.find_element(By.ID, element_id).is_displayed()


def busy(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return document.body.hasAttribute('aria-busy')"))


def locked(driver: WebDriver) -> bool:
    """The value buttons still wait after an item appeared."""
    return bool(driver.execute_script("return !!document.querySelector('#scale[data-locked]')"))


def idle(driver: WebDriver) -> bool:
    """No request in flight and the value buttons unlocked (the page ignores decisions
    meanwhile)."""
    return not busy(driver) and not locked(driver)


def press(driver: WebDriver, key: str) -> None:
    """A key press, once the page is idle."""
    until(driver, idle, "the page to be idle")
    ActionChains(driver).send_keys(key).perform()


def click(driver: WebDriver, css: str) -> None:
    """Click, once the page is idle (like `press`)."""
    until(driver, idle, "the page to be idle")
    driver.find_element(By.CSS_SELECTOR, css).click()


def showing(driver: WebDriver, response: str) -> bool:
    """A claimed item whose response is `response` is on screen."""
    return shown(driver, "item") and text(driver, "response") == response


def rects(driver: WebDriver, css: str) -> list[dict[str, float]]:
    """The bounding rectangles (viewport coordinates) of the elements matching `css`."""
    found: list[dict[str, float]] = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => {"
        " const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })",
        css,
    )
    return found


# --- the reviewer page -------------------------------------------------------------------


def evaluate(http: httpx.Client, panel: str, item: dict[str, str]) -> dict[str, Any]:
    r = http.post("/v1/evaluations", json={"panel": panel, "input": item})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == "in_review" and body["review_id"], body
    return body


def open_page(driver: WebDriver, base_url: str, panel: str, reviewer: str = REVIEWER) -> None:
    driver.get(f"{base_url}/review")
    name = until(driver, lambda d: d.find_element(By.ID, "reviewer"), "the name field")
    name.clear()
    name.send_keys(reviewer)
    Select(driver.find_element(By.ID, "panel")).select_by_value(panel)
    driver.execute_script("document.activeElement.blur()")  # shortcuts need the page focused


def page_errors(driver: WebDriver) -> list[str]:
    """Console errors other than the HTTP errors the page provokes on purpose."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "the server responded with a status of 4" not in e["message"]
    ]
