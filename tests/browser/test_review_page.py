"""The reviewer's page (GET /review) in headless Chromium, driven by Selenium.

Needs the Debian `chromium` and `chromium-driver` packages (`.ci/browser-deps`): skipped
without them, failing instead when CI=true. The screenshot in docs/reviewer.md is
rewritten only with QUORUM_REFRESH_DOCS_IMAGES=1.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.pages import (
    REVIEWER,
    click,
    evaluate,
    idle,
    open_page,
    page_errors,
    press,
    refresh_images,
    showing,
    shown,
    text,
    until,
)
from tests.support import ServerThread

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "review-page.png"
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'

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

    if refresh_images():  # QUORUM_REFRESH_DOCS_IMAGES=1: the picture in docs/reviewer.md
        until(browser, idle, "the buttons to unlock")
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
    assert not shown(browser, "single") and shown(browser, "pair-note")
    order = http.get(
        f"/v1/reviews/{comparison['review_id']}", params={"reviewer": REVIEWER}
    ).json()["shown_order"]
    assert order in ("AB", "BA")
    side = {"A": pair["response_a"], "B": pair["response_b"]}
    assert text(browser, "response-first") == side[order[0]]  # in this reviewer's order
    assert text(browser, "response-second") == side[order[1]]
    assert text(browser, "response-first-label") == "Response 1"
    assert "response_a" not in text(browser, "item") and "Response A" not in text(browser, "pair")
    a = browser.find_element(By.ID, "response-first").rect
    b = browser.find_element(By.ID, "response-second").rect
    assert a["y"] == b["y"] and a["x"] + a["width"] <= b["x"]  # side by side
    buttons = browser.find_elements(By.CSS_SELECTOR, "#scale button.choice")
    assert [x.get_attribute("data-shown") for x in buttons] == ["first", "second", "tie"]
    assert [x.get_attribute("data-value") for x in buttons] == [order[0], order[1], "tie"]
    assert [x.find_element(By.CLASS_NAME, "value").text for x in buttons] == [
        "Response 1",
        "Response 2",
        "tie",
    ]

    press(browser, "3")  # the third position: tie
    until(browser, lambda d: shown(d, "empty"), "the queue-empty message")
    decided = http.get(f"/v1/evaluations/{comparison['id']}").json()
    assert decided["verdict"]["source"] == "human" and decided["verdict"]["value"] == "tie"
    assert decided["winner"] == "tie"
    [decision] = http.get(f"/v1/reviews/{comparison['review_id']}").json()["decisions"]
    assert decision["shown_order"] == order
    assert page_errors(browser) == []
