"""The reviewer's page (GET /review) in headless Chromium, driven by Selenium.

Needs the Debian `chromium` and `chromium-driver` packages (`.ci/browser-deps`): skipped
without them, failing instead when CI=true. Selenium Manager is never used (the driver
path is given), so nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
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

from tests.support import ServerThread

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "review-page.png"
WAIT_S = 10
REVIEWER = "Ada Reviewer"
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'

T = TypeVar("T")

GIT_ITEM = {
    "prompt": "How do I undo my last git commit but keep the changes?",
    "context": "The user is on a feature branch; nothing has been pushed yet.",
    "response": (
        "Use a soft reset:\n\n"
        "    git reset --soft HEAD~1\n\n"
        "This moves HEAD back one commit and leaves your changes staged, ready to\n"
        "commit again. If the commit was already pushed, prefer `git revert HEAD`,\n"
        "which adds a new commit instead of rewriting history."
    ),
}
XSS_ITEM = {"prompt": f"Render this: {XSS}", "response": XSS, "context": XSS}


def _missing_browser() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.is_file() and os.access(path, os.X_OK)):
            return f"{path} not found: run .ci/browser-deps"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile; always quit at the end."""
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
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
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


# --- helpers -----------------------------------------------------------------------------


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


def idle(driver: WebDriver) -> bool:
    """No request in flight (the page ignores keys and clicks meanwhile)."""
    return bool(driver.execute_script("return !document.body.hasAttribute('aria-busy')"))


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


def evaluate(http: httpx.Client, panel: str, item: dict[str, str]) -> dict[str, Any]:
    r = http.post("/v1/evaluations", json={"panel": panel, "input": item})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == "in_review" and body["review_id"], body
    return body


def open_page(driver: WebDriver, base_url: str, panel: str) -> None:
    driver.get(f"{base_url}/review")
    name = until(driver, lambda d: d.find_element(By.ID, "reviewer"), "the name field")
    name.clear()
    name.send_keys(REVIEWER)
    Select(driver.find_element(By.ID, "panel")).select_by_value(panel)
    driver.execute_script("document.activeElement.blur()")  # shortcuts need the page focused


def page_errors(driver: WebDriver) -> list[str]:
    """Console errors other than the HTTP errors the page provokes on purpose."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "the server responded with a status of 4" not in e["message"]
    ]


# --- tests -------------------------------------------------------------------------------


def test_review_page_claim_decide_release(
    browser: WebDriver, quorum: ServerThread, http: httpx.Client
) -> None:
    git = evaluate(http, "split", GIT_ITEM)
    xss = evaluate(http, "split", XSS_ITEM)
    rubric = http.get("/v1/rubrics/helpfulness").json()

    page = http.get("/review")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]

    open_page(browser, quorum.url, "split")
    press(browser, "n")
    until(browser, lambda d: showing(d, GIT_ITEM["response"]), "the first item")

    # What the reviewer reads: the judged texts verbatim, whitespace kept.
    assert text(browser, "response") == GIT_ITEM["response"]
    assert text(browser, "context") == GIT_ITEM["context"] and shown(browser, "context-box")
    assert not shown(browser, "reference-box") and not shown(browser, "pair")
    response = browser.find_element(By.ID, "response")
    assert response.value_of_css_property("white-space") == "pre-wrap"
    assert text(browser, "meta-panel") == "split"
    # Blind review hides why the panel routed it too (the reasons give its opinion away).
    reasons = text(browser, "reasons")
    assert git["routing"]["reasons"] and reasons
    assert not any(r["code"] in reasons for r in git["routing"]["reasons"])
    assert text(browser, "meta-uncertainty") == "n/a"
    # The rubric: description, criteria, and one button per scale value with its anchor.
    assert text(browser, "rubric-description") == rubric["description"]
    assert text(browser, "criteria") == rubric["criteria"]
    buttons = browser.find_elements(By.CSS_SELECTOR, "#scale button.choice")
    assert [b.get_attribute("data-value") for b in buttons] == ["1", "2", "3", "4", "5"]
    for i, (button, value) in enumerate(zip(buttons, rubric["scale"], strict=True), start=1):
        label = button.get_attribute("textContent") or ""
        assert rubric["anchors"][str(value)] in label
        assert button.find_element(By.TAG_NAME, "kbd").text == str(i)
    # Blind review: no votes, no panel verdict, not even in the DOM.
    assert shown(browser, "blind-note")
    assert not shown(browser, "votes") and not shown(browser, "panel-verdict")
    assert browser.find_elements(By.CSS_SELECTOR, "#votes li") == []
    body = browser.find_element(By.TAG_NAME, "body").get_attribute("textContent") or ""
    assert "fixed-1" not in body and "fixed-5" not in body

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))

    # Decide with the keyboard: position 4 is value 4; the next item loads by itself.
    press(browser, "4")
    until(browser, lambda d: showing(d, XSS), "the next item")
    assert shown(browser, "last")
    assert text(browser, "last-outcome").startswith("You chose 4: final verdict 4.")
    assert "fixed-1 1 · fixed-3 3 · fixed-5 5" in text(browser, "last-verdict")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#last-votes li")) == 3  # now revealed

    # Untrusted text is text: no element was created from it, no script ran.
    for field in ("prompt", "response", "context"):
        assert browser.find_elements(By.CSS_SELECTOR, f"#{field} *") == []
    assert text(browser, "prompt") == XSS_ITEM["prompt"]
    assert browser.find_elements(By.CSS_SELECTOR, 'img[src="x"], body script:not([src])') == []
    assert browser.execute_script("return typeof window.__pwned") == "undefined"

    # R gives the item back; N claims it again.
    press(browser, "r")
    until(browser, lambda d: "Released" in text(d, "status"), "the release message")
    assert not shown(browser, "item")
    assert http.get(f"/v1/reviews/{xss['review_id']}").json()["status"] == "pending"
    press(browser, "n")
    until(browser, lambda d: showing(d, XSS), "the released item again")

    # Reloading the page keeps the item this reviewer holds.
    browser.refresh()
    until(browser, lambda d: "Resumed" in text(d, "status"), "the resumed item")
    assert text(browser, "response") == XSS and shown(browser, "item")
    assert browser.execute_script("return typeof window.__pwned") == "undefined"

    # A claim lost behind the page's back: the problem detail is shown, the item put away.
    released = http.post(f"/v1/reviews/{xss['review_id']}/release", json={"reviewer": REVIEWER})
    assert released.status_code == 200
    click(browser, '#scale button[data-value="2"]')
    until(browser, lambda d: shown(d, "error"), "the error message")
    assert "not claimed" in text(browser, "error")
    assert not shown(browser, "item")
    press(browser, "n")
    until(browser, lambda d: showing(d, XSS), "the item after the error")
    assert not shown(browser, "error")

    # Decide with a click and a comment; nothing is left, and the page says so.
    browser.find_element(By.ID, "comment").send_keys("Only markup; no answer at all.")
    click(browser, '#scale button[data-value="2"]')
    until(browser, lambda d: shown(d, "empty"), "the queue-empty message")
    assert text(browser, "empty-title") == "The queue is empty"
    assert "split" in text(browser, "empty-detail")
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert page_errors(browser) == []

    # The decisions are the evaluations' final verdicts.
    first = http.get(f"/v1/evaluations/{git['id']}").json()
    assert first["verdict"] == {"value": 4, "compliant": True, "source": "human"}
    second = http.get(f"/v1/evaluations/{xss['id']}").json()
    assert second["verdict"] == {"value": 2, "compliant": False, "source": "human"}
    [decision] = http.get(f"/v1/reviews/{xss['review_id']}").json()["decisions"]
    assert decision["reviewer"] == REVIEWER
    assert decision["comment"] == "Only markup; no answer at all."

    # The name is remembered across visits.
    browser.refresh()
    until(
        browser,
        lambda d: d.find_element(By.ID, "reviewer").get_attribute("value") == REVIEWER,
        "the remembered name",
    )


def test_review_page_pairwise_side_by_side(
    browser: WebDriver, quorum: ServerThread, http: httpx.Client
) -> None:
    for n in range(20):  # position-biased judges: most comparisons go to humans
        pair = {
            "prompt": f"Question {n}: which answer is better?",
            "response_a": f"Answer one, variant {n}.\n\tindented [[q=1]]",
            "response_b": f"Answer two, variant {n}. [[q=5]]",
        }
        r = http.post("/v1/comparisons", json={"panel": "biased-pair", "input": pair})
        assert r.status_code == 200, r.text
        comparison = r.json()
        if comparison["status"] == "in_review":
            break
    else:
        pytest.fail("no comparison was routed to humans")

    open_page(browser, quorum.url, "biased-pair")
    press(browser, "n")
    until(browser, lambda d: shown(d, "pair"), "the pairwise item")
    assert not shown(browser, "single")
    assert text(browser, "response-a") == pair["response_a"]
    assert text(browser, "response-b") == pair["response_b"]
    a = browser.find_element(By.ID, "response-a").rect
    b = browser.find_element(By.ID, "response-b").rect
    assert a["y"] == b["y"] and a["x"] + a["width"] <= b["x"]  # side by side
    buttons = browser.find_elements(By.CSS_SELECTOR, "#scale button.choice")
    assert [x.get_attribute("data-value") for x in buttons] == ["A", "B", "tie"]

    press(browser, "3")  # the third position: tie
    until(browser, lambda d: shown(d, "empty"), "the queue-empty message")
    decided = http.get(f"/v1/evaluations/{comparison['id']}").json()
    assert decided["verdict"]["source"] == "human" and decided["verdict"]["value"] == "tie"
    assert decided["winner"] == "tie"
    assert page_errors(browser) == []
