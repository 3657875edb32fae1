"""Moved to tests.support (issue 14); kept so branches in flight still import. Remove once
they have merged: import from tests.support instead."""

from tests.support import free_port, log_tail, require_binary, running, wait_for

__all__ = ["free_port", "log_tail", "require_binary", "running", "wait_for"]
