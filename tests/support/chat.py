"""One chat request to the judge double, as the litellm adapter tests send it."""

from __future__ import annotations

from typing import Any

from judges import ChatRequest
from tests.doubles.judge_server import JudgeDouble

MESSAGES = (
    {"role": "system", "content": "You are a judge."},
    {"role": "user", "content": "<prompt>\nHi\n</prompt>\n<response>\n[[q=4]] Hello\n</response>"},
)
"""A judge prompt whose response carries the honest judges' marker (4)."""


def request(double: JudgeDouble, behaviour: str, **kwargs: Any) -> ChatRequest:
    """MESSAGES to the double's `behaviour`; `kwargs` set the other request fields."""
    return ChatRequest(
        model=f"openai/{behaviour}", messages=MESSAGES, api_base=double.base_url, **kwargs
    )
