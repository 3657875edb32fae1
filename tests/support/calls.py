"""Judge calls through the real litellm client to the judge double, as the tests of one
call (tests/judges/test_call.py, test_wrong_answers.py) make them: a panel runner whose
backoff is milliseconds (a longer wait comes from the provider's hint) and a judge named
`j` on one of the double's behaviours."""

from __future__ import annotations

import random

from judges import JudgeConfig, PanelRunner, RetryPolicy
from judges.client import ChatClient
from judges.litellm_client import LiteLLMClient
from rubrics import LIBRARY_DIR, Item, load_rubrics
from tests.doubles.judge_server import JudgeDouble

HELPFULNESS = load_rubrics([LIBRARY_DIR])["helpfulness"]
ITEM = Item(prompt="Explain DNS in one line.", response="[[q=4]] DNS maps names to addresses.")


def runner(client: ChatClient | None = None, **kwargs: object) -> PanelRunner:
    """A runner over `client` (a new `LiteLLMClient` by default), retrying after ms."""
    return PanelRunner(
        client or LiteLLMClient(),
        retry=RetryPolicy(base_s=0.01, cap_s=0.02),
        rng=random.Random(3),
        **kwargs,  # type: ignore[arg-type]
    )


def judge(double: JudgeDouble, behaviour: str, **kw: object) -> JudgeConfig:
    """Judge `j`, calling the double's `behaviour`."""
    return JudgeConfig(name="j", model=f"openai/{behaviour}", api_base=double.base_url, **kw)  # type: ignore[arg-type]
