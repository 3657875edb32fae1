"""Label values fed by requests (`app`, `model`, `use_case`, `tenant`), capped so that a
client cannot explode the metrics' cardinality: an allow-list, else the first N values
seen, then "other"; "none" when absent (`api.metrics`)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

__all__ = ["NO_APP", "OTHER_APP", "AppLabels", "CappedLabels"]

OTHER_APP = "other"
NO_APP = "none"


class CappedLabels:
    """Caps a label fed by requests: allow-listed values, or the first `max_values` seen
    (per process), then "other"; "none" when the request has none."""

    def __init__(self, allowed: Iterable[str] = (), max_values: int = 20) -> None:
        self.allowed = frozenset(allowed)
        self.max_values = max_values
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        if not value:
            return NO_APP
        if self.allowed:
            return value if value in self.allowed else OTHER_APP
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self.max_values:
                self._seen.add(value)
                return value
        return OTHER_APP


class AppLabels(CappedLabels):
    """Caps the `app` label: allow-listed names, or the first `max_apps` seen."""

    def __init__(self, allowed: Iterable[str] = (), max_apps: int = 20) -> None:
        super().__init__(allowed, max_apps)
        self.max_apps = max_apps
