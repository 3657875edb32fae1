"""Readable, bounded, secret-free error text for votes.

A provider's error body is stored on the vote and shown to API clients and reviewers, so
it is not copied verbatim:

- an HTML page (a gateway's 502) becomes its title, or its text without markup;
- a JSON error body (`{"error": {"message": ...}}` as OpenAI-compatible servers send it,
  or a top-level `message`, `detail` or string `error`) becomes its message;
- object reprs (`ssl:<ssl.SSLContext object at 0x7f...>`) and litellm's class-name
  prefixes (`litellm.RateLimitError: RateLimitError: OpenAIException - `) are dropped;
- anything that looks like a credential is replaced by `[redacted]`: API keys with a
  known prefix (`sk-`, `sk-ant-`, `AIza`, `AKIA`, `ghp_`, `hf_`, `xox?-`), JWTs,
  `Bearer`/`Basic` credentials, `api_key=...`/`"password": "..."` pairs and the password
  of a URL's userinfo;
- control characters go, whitespace collapses, only the first line of a plain message is
  kept, and the result is at most `LIMIT` characters.

Request ids and plain hex are kept: they are what a provider's support asks for.
"""

from __future__ import annotations

import html
import json
import re

LIMIT = 300

_HTML = re.compile(r"<\s*(!doctype|html|head|body|title|h1|center|div|p)\b", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_OBJECT_REPR = re.compile(r"\s*(?:\bssl:)?<[\w.]+(?: [\w.]+)*? (?:object )?at 0x[0-9a-fA-F]+>")
_LITELLM_PREFIX = re.compile(
    r"^(?:litellm\.)?\w+(?:Error|Exception):\s*(?:\w+(?:Error|Exception):\s*)?"
    r"(?:\w+Exception\s*-\s*)?"
)
_SECRETS = (
    # userinfo in a URL: keep the user, hide the password
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@"), r"\1:[redacted]@"),
    (re.compile(r"\b([Bb]earer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    # Basic credentials are base64: one capital, digit or +/= past the first character
    # tells them from a word ("Basic authentication failed")
    (
        re.compile(r"\b([Bb]asic)\s+[A-Za-z0-9+/=](?=[a-z]*[A-Z0-9+/=])[A-Za-z0-9+/=]{7,}"),
        r"\1 [redacted]",
    ),
    (
        re.compile(
            r"(?i)([\"']?\b(?:api[_-]?key|x-api-key|access[_-]?token|secret|password|passwd)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\"'\s,;}&]+"
        ),
        r"\1[redacted]",
    ),
    (
        re.compile(
            r"\b(?:sk-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,}"
            r"|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,}"
            r"|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+)"
        ),
        "[redacted]",
    ),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _from_html(text: str) -> str:
    title = _TITLE.search(text)
    inner = title.group(1) if title else _TAG.sub(" ", _SCRIPT.sub(" ", text))
    return "HTML error page: " + " ".join(html.unescape(inner).split())


def _json_message(text: str) -> str | None:
    """The message of a JSON error body, or None when `text` is not one."""
    if not text.startswith("{"):
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    for holder, key in ((inner, "message"), (body, "message"), (body, "detail"), (body, "error")):
        value = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(value, str) and value.strip():
            return value
    return None


def readable(text: str, limit: int = LIMIT) -> str:
    """`text` made fit to store and show: see the module docstring."""
    text = _CONTROL.sub(" ", text).strip()
    if _HTML.search(text):
        text = _from_html(text)
    else:
        text = _LITELLM_PREFIX.sub("", text)
        text = _json_message(text) or text
        text = next((line.strip() for line in text.splitlines() if line.strip()), "")
    text = _OBJECT_REPR.sub("", text)
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
