"""What the parts share: the time zone the calls happen in, and how figures are printed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from zoneinfo import ZoneInfo

SANTIAGO = ZoneInfo("America/Santiago")


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"
