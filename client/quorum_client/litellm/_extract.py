"""What the callback reads from a litellm call: the model that answered, the conversation,
the answer and the governance use case. Duck-typed over litellm's kwargs and response (no
litellm import here), so it is tested with plain dicts too."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quorum_client._requests import MAX_MESSAGES

CHAT_CALLS = frozenset({"completion", "acompletion"})
"""litellm call types the callback judges: chat completions (sync and async)."""
USE_CASE = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")
"""The service's `use_case` label: 1..128 characters of [A-Za-z0-9._:/-]."""
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
ROLES |= {"tool": "tool", "function": "tool"}
MAX_MODEL = 256
"""`subject.model` at most (the service's limit): Quorum keeps no zone for a longer name."""
MAX_VERSION = 128
"""`subject.version` at most (the service's limit); a longer one is left out."""
MAX_CALL_ID = 256 - len("litellm:")
"""The longest call id that makes an idempotency key (`litellm:<id>`, 256 at most)."""


@dataclass(frozen=True)
class Completion:
    """One successful chat completion, as Quorum judges it."""

    model: str
    """The subject model: the proxy's model group (the name the application asked for)
    when there is one, else the model litellm called."""
    turns: tuple[tuple[str, str], ...]
    """(role, text) of the conversation, the answer last (role `assistant`)."""
    use_case: str | None
    version: str | None
    call_id: str | None


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _text(content: Any) -> str | None:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [_get(p, "text") for p in content if _get(p, "type") == "text"]
        return "\n".join(p for p in parts if isinstance(p, str))
    return None


def metadata_of(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The call's metadata: what the application sent (`metadata=` on the SDK call or in
    the proxy request body; the proxy keeps it as `requester_metadata` too)."""
    params = kwargs.get("litellm_params")
    params = params if isinstance(params, Mapping) else {}
    found: dict[str, Any] = {}
    for source in (params.get("metadata"), params.get("litellm_metadata"), kwargs.get("metadata")):
        if isinstance(source, Mapping):
            requester = source.get("requester_metadata")
            if isinstance(requester, Mapping):
                found = {**requester, **found}
            found = {**source, **found}
    return found


def quorum_field(metadata: Mapping[str, Any], key: str) -> str | None:
    """`metadata.quorum.<key>`, else `metadata.<key>`, when it is a non-empty string."""
    nested = metadata.get("quorum")
    for value in (nested.get(key) if isinstance(nested, Mapping) else None, metadata.get(key)):
        if isinstance(value, str) and value:
            return value
    return None


def use_case_of(metadata: Mapping[str, Any], default: str | None) -> str | None:
    """The call's use case (`metadata.quorum.use_case` or `metadata.use_case`) when it is a
    valid label, else `default`."""
    given = quorum_field(metadata, "use_case")
    return given if given is not None and USE_CASE.match(given) else default


def model_of(kwargs: Mapping[str, Any], metadata: Mapping[str, Any]) -> str | None:
    logged = kwargs.get("standard_logging_object")
    for value in (
        metadata.get("model_group"),
        _get(logged, "model_group") if logged is not None else None,
        kwargs.get("model"),
    ):
        if isinstance(value, str) and value:
            return value
    return None


def completion_of(
    kwargs: Mapping[str, Any], response: Any, default_use_case: str | None
) -> Completion | None:
    """The completion to judge, or None when the call is not a chat completion with a
    text answer (embeddings, images, tool calls only, an empty answer)."""
    call_type = kwargs.get("call_type")
    if not isinstance(call_type, str) or call_type not in CHAT_CALLS:
        return None
    metadata = metadata_of(kwargs)
    model = model_of(kwargs, metadata)
    choices = _get(response, "choices")
    if model is None or not isinstance(choices, list | tuple) or not choices:
        return None
    answer = _text(_get(_get(choices[0], "message"), "content"))
    if not answer:
        return None
    messages = kwargs.get("messages")
    turns: list[tuple[str, str]] = []
    # Only the last turns are sent: reading a longer history would cost the caller's time.
    for message in messages[-(MAX_MESSAGES - 1) :] if isinstance(messages, list | tuple) else ():
        role, text = ROLES.get(str(_get(message, "role"))), _text(_get(message, "content"))
        if role is not None and text is not None:
            turns.append((role, text))
    version = quorum_field(metadata, "version")
    return Completion(
        model=model,
        turns=(*turns, ("assistant", answer)),
        use_case=use_case_of(metadata, default_use_case),
        version=version if version is not None and len(version) <= MAX_VERSION else None,
        call_id=call_id_of(kwargs),
    )


def call_id_of(kwargs: Mapping[str, Any]) -> str | None:
    """litellm's id of the call, when it can make an idempotency key."""
    call_id = kwargs.get("litellm_call_id")
    return call_id if isinstance(call_id, str) and 0 < len(call_id) <= MAX_CALL_ID else None
