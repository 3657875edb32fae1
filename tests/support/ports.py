"""A free loopback TCP port."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (bound, read and released; another process could
    take it before the caller does, which on loopback in a test run does not happen)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
