"""Each package's public surface is its `__all__`, and every name in it resolves."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "rubrics",
    "judges",
    "routing",
    "routing.governance",
    "backtest",
    "api",
    "api.services",
    "api.routes",
    "api.store",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves(name: str) -> None:
    package = importlib.import_module(name)
    exported = package.__all__
    assert exported, f"{name} exports nothing"
    assert len(set(exported)) == len(exported)
    for member in exported:
        found = getattr(package, member, None)
        if found is None:  # a submodule named in __all__
            found = importlib.import_module(f"{name}.{member}")
        assert found is not None, f"{name}.{member}"
