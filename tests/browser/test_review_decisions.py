"""The reviewer page's decisions in headless Chromium: no second click or key press decides
an item nobody read, the value buttons stay put from item to item, an adjudicator sees the
reviews that disagree, and a pairwise item is shown in the reviewer's order while the
decision is recorded in the canonical frame."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.api.review_panels import BLIND_DOUBLE, FIRST_PAIR, review_server
from tests.browser.pages import (
    busy,
    click,
    evaluate,
    idle,
    locked,
    open_page,
    page_errors,
    press,
    rects,
    showing,
    shown,
    text,
    until,
)
from tests.conftest import ServerThread
from tests.doubles.judge_server import JudgeDouble

BUTTONS = "#scale button.choice"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[ServerThread]:
    with review_server(tmp_path_factory.mktemp("review-decisions"), double) as s:
        yield s


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def review(http: httpx.Client, evaluation: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/v1/reviews/{evaluation['review_id']}").json()
    return body


def test_a_doubled_click_or_key_decides_one_item_and_the_buttons_stay_put(
    browser: WebDriver, server: ServerThread, http: httpx.Client
) -> None:
    # Items whose material differs in length and parts, so the left column changes a lot.
    items = [
        {"prompt": "Short one?", "response": "first answer", "context": "some context"},
        {"prompt": "A long prompt.\n" * 12, "response": "second answer\n" * 30},
        {"prompt": "Third?", "response": "third answer", "reference": "the reference"},
        {"prompt": "Fourth?", "response": "fourth answer"},
    ]
    evaluations = [evaluate(http, "split", item) for item in items]
    open_page(browser, server.url, "split")
    press(browser, "n")
    until(browser, lambda d: showing(d, "first answer"), "the first item")
    assert locked(browser)  # the buttons wait after the item appears...
    assert all(not b.is_enabled() for b in browser.find_elements(By.CSS_SELECTOR, BUTTONS))
    until(browser, idle, "the buttons to unlock")  # ...then take clicks
    before = rects(browser, BUTTONS)
    assert len(before) == 5

    # A click, then the same spot again as soon as the next item is on screen (the issue:
    # two items decided 0.6 s apart): the second click lands on a locked button.
    four = browser.find_element(By.CSS_SELECTOR, f'{BUTTONS}[data-value="4"]')
    ActionChains(browser).move_to_element(four).click().perform()
    until(browser, lambda d: showing(d, "second answer\n" * 30), "the second item")
    ActionChains(browser).click().perform()  # where the mouse still is (about 10 ms later)
    assert locked(browser)  # still within the lock: that click was the doubled one
    until(browser, lambda d: not busy(d), "the page to settle")
    assert review(http, evaluations[0])["final_value"] == 4
    second = review(http, evaluations[1])
    assert second["status"] == "claimed" and second["decisions"] == []
    assert shown(browser, "last")  # the summary appeared, and nothing moved:
    assert rects(browser, BUTTONS) == before
    until(browser, idle, "the buttons to unlock")
    assert rects(browser, BUTTONS) == before

    # A double click: one decision, the next item waits.
    two = browser.find_element(By.CSS_SELECTOR, f'{BUTTONS}[data-value="2"]')
    ActionChains(browser).double_click(two).perform()
    until(browser, lambda d: showing(d, "third answer"), "the third item")
    assert review(http, evaluations[1])["final_value"] == 2
    until(browser, lambda d: not busy(d), "the page to settle")
    assert review(http, evaluations[2])["status"] == "claimed"
    assert rects(browser, BUTTONS) == before

    # Keys alike: a number pressed again right after the next item appears does nothing.
    press(browser, "5")
    until(browser, lambda d: showing(d, "fourth answer"), "the fourth item")
    ActionChains(browser).send_keys("5").perform()
    until(browser, idle, "the buttons to unlock")
    assert review(http, evaluations[2])["final_value"] == 5
    fourth = review(http, evaluations[3])
    assert fourth["status"] == "claimed" and fourth["decisions"] == []
    assert rects(browser, BUTTONS) == before

    press(browser, "r")  # give the last one back for the next tests
    until(browser, lambda d: "Released" in text(d, "status"), "the release message")
    assert page_errors(browser) == []


def test_the_adjudicator_sees_the_reviews_that_disagree(
    browser: WebDriver, server: ServerThread, http: httpx.Client
) -> None:
    evaluation = evaluate(http, BLIND_DOUBLE, {"prompt": "p", "response": "to adjudicate"})
    for reviewer, value, comment in (("Rev One", 2, "misses the point"), ("Rev Two", 5, None)):
        r = http.post("/v1/reviews/claim", json={"reviewer": reviewer, "panel": BLIND_DOUBLE})
        assert r.json()["id"] == evaluation["review_id"]
        verdict = {"reviewer": reviewer, "value": value, "comment": comment}
        assert http.post(f"/v1/reviews/{r.json()['id']}/verdict", json=verdict).is_success

    open_page(browser, server.url, BLIND_DOUBLE)
    press(browser, "n")
    until(browser, lambda d: showing(d, "to adjudicate"), "the item to adjudicate")
    assert "adjudication" in text(browser, "meta-stage")
    assert shown(browser, "reviews-box")
    rows = browser.find_elements(By.CSS_SELECTOR, "#reviews li")
    assert [r.find_element(By.CLASS_NAME, "judge").text for r in rows] == ["Rev One", "Rev Two"]
    assert [r.find_element(By.CLASS_NAME, "vote-value").text for r in rows] == ["2", "5"]
    assert "misses the point" in rows[0].text
    # Blind review still hides the judges from the adjudicator.
    assert shown(browser, "blind-note") and not shown(browser, "votes")
    assert browser.find_elements(By.CSS_SELECTOR, "#votes li") == []

    click(browser, f'{BUTTONS}[data-value="4"]')
    until(browser, lambda d: shown(d, "empty"), "the queue-empty message")
    assert not shown(browser, "reviews-box")
    assert review(http, evaluation)["final_value"] == 4
    assert page_errors(browser) == []


def test_first_on_a_ba_item_records_b(
    browser: WebDriver, server: ServerThread, http: httpx.Client
) -> None:
    from api.services.review_view import shown_order

    pair = {"prompt": "Which?", "response_a": "the A text", "response_b": "the B text"}
    r = http.post("/v1/comparisons", json={"panel": FIRST_PAIR, "input": pair})
    comparison = r.json()
    assert comparison["status"] == "in_review", comparison
    item_id = comparison["review_id"]
    name = next(f"Pat {i}" for i in range(64) if shown_order(item_id, f"Pat {i}") == "BA")

    open_page(browser, server.url, FIRST_PAIR, reviewer=name)
    press(browser, "n")
    until(browser, lambda d: shown(d, "pair"), "the pairwise item")
    assert text(browser, "response-first") == "the B text"  # BA: response_b first
    assert text(browser, "response-second") == "the A text"
    first = browser.find_element(By.CSS_SELECTOR, f'{BUTTONS}[data-shown="first"]')
    assert first.find_element(By.CLASS_NAME, "value").text == "Response 1"

    click(browser, f'{BUTTONS}[data-shown="first"]')
    until(browser, lambda d: shown(d, "last"), "the previous-item summary")
    assert text(browser, "last-outcome").startswith("You chose Response 1")
    [decision] = review(http, comparison)["decisions"]
    assert (decision["reviewer"], decision["value"], decision["shown_order"]) == (name, "B", "BA")
    decided = http.get(f"/v1/evaluations/{comparison['id']}").json()
    assert decided["winner"] == "b" and decided["verdict"]["source"] == "human"
    assert page_errors(browser) == []
