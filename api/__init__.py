"""The Quorum service: the FastAPI app, its settings, routes, services and store.

`create_app` builds the application (the lifespan builds every resource); `quorum`'s
command line is `api.cli:main`. Imported lazily, so `import api.settings` (or a CLI
command) does not load FastAPI and every service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.app import create_app
    from api.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from api.app import create_app

        return create_app
    if name == "Settings":
        from api.settings import Settings

        return Settings
    raise AttributeError(f"module 'api' has no attribute {name!r}")
