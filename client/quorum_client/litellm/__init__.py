"""Quorum for applications that call their models through LiteLLM (the SDK or the proxy):
`QuorumCallback`, a litellm `CustomLogger`. Needs the `litellm` extra
(`pip install 'quorum-client[litellm]'`); litellm is imported only when `QuorumCallback`
or `callback` is first used, so the rest of the client never needs it.

- SDK: `litellm.callbacks = [QuorumCallback(url=..., api_key=..., panel="helpfulness")]`.
- Proxy: `litellm_settings: {callbacks: ["quorum_client.litellm.callback"]}` in its
  config: `callback` is one `QuorumCallback` configured from QUORUM_* variables
  (`CallbackSettings.from_env`; a bad one raises `CallbackSettingsError`, one line naming
  it, and the proxy does not start). See docs/litellm.md in the Quorum repository.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from quorum_client.litellm._settings import ENV, CallbackSettings, CallbackSettingsError

if TYPE_CHECKING:
    from quorum_client.litellm._callback import CallbackStats, QuorumCallback

__all__ = [
    "ENV",
    "CallbackSettings",
    "CallbackSettingsError",
    "CallbackStats",
    "QuorumCallback",
    "callback",
]
_made: dict[str, Any] = {}
_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name in ("QuorumCallback", "CallbackStats"):
        from quorum_client.litellm import _callback

        return getattr(_callback, name)
    if name == "callback":
        with _lock:
            if "callback" not in _made:
                from quorum_client.litellm._callback import QuorumCallback

                _made["callback"] = QuorumCallback.from_env()
            return _made["callback"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
