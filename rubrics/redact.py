"""Redaction of configured patterns (e-mail, phone, keys...) before text leaves Quorum.

Applied to every judged text before it is stored or sent to a judge, when the service
configures patterns. Each match becomes `[REDACTED:<name>]`, so judges still see that
something was there. A panel that judges data leakage must see the data: it turns
redaction off (`redact: false`) and should use judges you trust with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BUILTIN: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "phone": r"(?<![\w+])\+?\d{1,3}?[ .-]?\(?\d{2,4}\)?(?:[ .-]?\d{2,4}){2,3}(?!\w)",
    "credit_card": r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)",
    "api_key": (
        r"\b(?:sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
        r"|xox[baprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|qk_[0-9a-f]{8}_[A-Za-z0-9_-]{20,})"
    ),
    "ipv4": r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])",
}
"""Pattern names usable in settings; anything else must be a regex prefixed `re:`."""


class Redactor:
    """Replaces every match of the configured patterns."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.rules: list[tuple[str, re.Pattern[str]]] = []
        for i, spec in enumerate(patterns):
            if spec.startswith("re:"):
                try:
                    self.rules.append((f"custom{i}", re.compile(spec[3:])))
                except re.error as exc:
                    raise ValueError(
                        f"redaction pattern {spec!r} is not a valid regex: {exc}"
                    ) from exc
            elif spec in BUILTIN:
                self.rules.append((spec, re.compile(BUILTIN[spec])))
            else:
                known = ", ".join(sorted(BUILTIN))
                raise ValueError(f"unknown redaction pattern {spec!r} (known: {known}, or re:...)")

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for name, rule in self.rules:
            text = rule.sub(f"[REDACTED:{name}]", text)
        return text
