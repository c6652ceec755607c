"""The compose test builds three images and runs the whole stack: it is the slowest of the suite, so it
runs last (a failure elsewhere is reported before it starts)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("compose") is not None)
