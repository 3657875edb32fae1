"""What a caller may see: one tenant (or every tenant) and some panels (or all), as the
conditions every repository query over tenant data adds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import col


@dataclass(frozen=True)
class Reach:
    tenant: str | None = None
    """The tenant whose rows are visible; None: every tenant's, and rows of no tenant."""
    panels: frozenset[str] | None = None
    """The panels whose rows are visible; None: every panel's."""

    def sees(self, tenant: str | None, panel: str) -> bool:
        return (self.tenant is None or tenant == self.tenant) and (
            self.panels is None or panel in self.panels
        )

    def where(self, tenant_column: Any, panel_column: Any) -> list[ColumnElement[bool]]:
        """SQL conditions keeping only visible rows of a table with these two columns."""
        conditions: list[ColumnElement[bool]] = []
        if self.tenant is not None:
            conditions.append(col(tenant_column) == self.tenant)
        if self.panels is not None:
            conditions.append(col(panel_column).in_(sorted(self.panels)))
        return conditions


EVERYTHING = Reach()
"""No restriction (the CLI, background work, open mode)."""
