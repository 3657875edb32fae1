"""The reviewer page's 401 reads for a reviewer, not a developer (issue 17, point 10):
what to do (paste the key you were given), never the API's header syntax."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.pages import open_page, text, until
from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, judge


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble) -> Iterator[str]:
    """A service with one API key: requests without it get 401."""
    from api.app import create_app
    from api.services.keys import create_key
    from api.settings import Settings
    from api.store import make_engine, make_session_factory
    from api.store.migrate import upgrade

    root = tmp_path_factory.mktemp("keyed")
    url = f"sqlite:///{root / 'q.db'}"
    config = root / "quorum.yaml"
    judges = [judge(f"j{i}", "fixed-3", double.base_url, family=f"f{i}") for i in range(3)]
    panel = {"name": "jury", "rubric": "helpfulness", "judges": ["j0", "j1", "j2"]}
    config.write_text(yaml.safe_dump({"judges": judges, "panels": [panel]}))
    upgrade(url)

    async def make_key() -> None:
        engine = make_engine(url)
        await create_key(make_session_factory(engine), "reviewers", ["review"], None, None)
        await engine.dispose()

    asyncio.run(make_key())
    with ServerThread(create_app(Settings(database_url=url, config=config)), Path(root)) as s:
        yield s.url


def test_the_401_tells_a_reviewer_what_to_do(browser: WebDriver, keyed: str) -> None:
    open_page(browser, keyed, "jury")
    browser.find_element(By.ID, "next").click()
    shown = until(browser, lambda d: text(d, "error").strip(), "the 401 message")
    assert "reviewer API key" in shown and "Paste the key you were given" in shown
    for developer_note in ("Authorization", "Bearer", "HTTP 401", "header"):
        assert developer_note not in shown, shown
    assert browser.find_element(By.ID, "apikey").is_displayed()

    key = browser.find_element(By.ID, "apikey")
    key.send_keys("qk_wrong_key")
    browser.find_element(By.ID, "next").click()
    until(browser, lambda d: "not accepted" in text(d, "error"), "the wrong-key message")
    assert "Bearer" not in text(browser, "error")
