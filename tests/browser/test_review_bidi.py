"""Invisible controls in judged texts and comments cannot make the page read otherwise
than what was sent: bidi overrides, isolates, marks and zero-width characters show as
visible markers, and every text box is isolated from its surroundings."""

from __future__ import annotations

import httpx
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.pages import evaluate, open_page, page_errors, press, shown, text, until
from tests.support import ServerThread

PROMPT = "مرحبا بالعالم، كيف حالك؟ \u202eevil\u202c"
RESPONSE = "pay\u200b pal\u2066 and \u200fme"


def test_controls_show_as_markers_and_texts_are_isolated(
    browser: WebDriver, quorum: ServerThread, http: httpx.Client
) -> None:
    item = evaluate(http, "split", {"prompt": PROMPT, "response": RESPONSE})
    open_page(browser, quorum.url, "split")
    press(browser, "n")
    until(browser, lambda d: shown(d, "item"), "the item")
    assert text(browser, "prompt") == "مرحبا بالعالم، كيف حالك؟ ⟨U+202E⟩evil⟨U+202C⟩"
    assert text(browser, "response") == "pay⟨U+200B⟩ pal⟨U+2066⟩ and ⟨U+200F⟩me"
    markers = browser.find_elements(By.CSS_SELECTOR, "#prompt .control, #response .control")
    assert len(markers) == 5 and all(m.tag_name == "span" for m in markers)
    for box in ("prompt", "response", "context"):
        style = browser.find_element(By.ID, box).value_of_css_property("unicode-bidi")
        assert style == "isolate", (box, style)
    # display only: the stored text is what was sent
    stored = http.get(f"/v1/evaluations/{item['id']}").json()["input"]
    assert stored == {"prompt": PROMPT, "response": RESPONSE}
    assert page_errors(browser) == []
