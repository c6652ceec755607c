"""Dependency floors that are security fixes: the declared minimum, and what is installed, are past them."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# aiohttp before 3.12.14: request smuggling (CVE-2024-52304, CVE-2025-53643) on the API's HTTP server.
SECURITY_FLOORS = {"aiohttp": (3, 12, 14)}


def _tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_declared_and_installed_versions_are_past_the_security_fixes():
    declared = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]["dependencies"]
    for name, floor in SECURITY_FLOORS.items():
        (spec,) = [d for d in declared if re.match(rf"{name}\b", d)]
        minimum = re.search(r">=\s*([\d.]+)", spec)
        assert minimum and _tuple(minimum[1]) >= floor, f"{spec!r} admits versions before {floor}"
        assert _tuple(version(name)) >= floor, f"{name} {version(name)} installed"
