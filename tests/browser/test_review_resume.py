"""The page keeps the item its reviewer holds when a load cannot ask the server yet: a
new tab without the key (401) forgets nothing, and once the key is entered the held item
comes back instead of a new claim."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.pages import open_page, press, shown, text, until
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, judge

NAME = "ada"


@pytest.fixture(scope="module")
def keyed(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> Iterator[dict[str, str]]:
    """A service with keys; panel `split` sends every item to review. Its URL and keys."""
    from api.app import create_app
    from api.services.keys import create_key
    from api.settings import Settings
    from api.store import make_engine, make_session_factory
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("resume")
    url = f"sqlite:///{root / 'q.db'}"
    config = root / "quorum.yaml"
    judges = [judge(f"j{v}", f"fixed-{v}", double.base_url, family=f"f{v}") for v in (1, 3, 5)]
    panel = {"name": "split", "rubric": "helpfulness", "judges": ["j1", "j3", "j5"]}
    config.write_text(yaml.safe_dump({"judges": judges, "panels": [panel]}))
    upgrade(url)

    async def make_keys() -> dict[str, str]:
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        review, _ = await create_key(sessions, NAME, ["review"], None, None, tenant="t")
        app, _ = await create_key(sessions, "app", ["evaluate"], None, None, tenant="t")
        await engine.dispose()
        return {"review": review, "app": app}

    keys = asyncio.run(make_keys())
    with ServerThread(create_app(Settings(database_url=url, config=config)), Path(root)) as s:
        yield {"url": s.url, **keys}


def stored(driver: WebDriver) -> str:
    return str(driver.execute_script("return localStorage.getItem('quorum.review.current')"))


def enter_key(driver: WebDriver, key: str) -> None:
    field = until(driver, lambda d: d.find_element(By.ID, "apikey"), "the key field")
    until(driver, lambda d: field.is_displayed(), "the key field to show")
    field.clear()
    field.send_keys(key)
    driver.execute_script("document.activeElement.blur()")


def test_a_new_tab_without_the_key_keeps_the_held_item(
    browser: WebDriver, keyed: dict[str, str]
) -> None:
    app = {"Authorization": f"Bearer {keyed['app']}"}
    for n in range(2):
        body = {"panel": "split", "input": {"prompt": f"p{n}", "response": f"r{n}"}}
        r = httpx.post(f"{keyed['url']}/v1/evaluations", json=body, headers=app, timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "in_review", r.text

    open_page(browser, keyed["url"], "split", reviewer=NAME)
    press(browser, "n")
    until(browser, lambda d: "reviewer API key" in text(d, "error"), "the 401 message")
    enter_key(browser, keyed["review"])
    press(browser, "n")
    until(browser, lambda d: shown(d, "item"), "the claimed item")
    held = browser.find_element(By.ID, "item-title").get_attribute("title")
    assert held and stored(browser) == held

    # Another tab of this browser: the key is per tab (sessionStorage), the held item is not.
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    until(browser, lambda d: "reviewer API key" in text(d, "error"), "the 401 on resume")
    assert stored(browser) == held, "the page forgot the item it holds"
    assert not shown(browser, "item")

    # With the key, N brings the held item back rather than a new claim.
    enter_key(browser, keyed["review"])
    press(browser, "n")
    until(browser, lambda d: "Resumed" in text(d, "status"), "the resumed item")
    assert browser.find_element(By.ID, "item-title").get_attribute("title") == held
    review = {"Authorization": f"Bearer {keyed['review']}"}
    mine = httpx.get(
        f"{keyed['url']}/v1/reviews", params={"status": "claimed"}, headers=review, timeout=30
    ).json()
    assert [i["id"] for i in mine["data"]] == [held]  # one item held, not two
