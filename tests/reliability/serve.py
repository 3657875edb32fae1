"""Moved to tests.support.quorum_process (issue 14); kept so branches in flight still
import. Remove once they have merged."""

from tests.support.quorum_process import Server, rows

__all__ = ["Server", "rows"]
