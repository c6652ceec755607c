"""When to try a failed webhook delivery again."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped; a delivery is dead after `max_attempts` failures.

    With the defaults a receiver may be down for about a day before an event is given up on
    (10 s, 20 s, 40 s, ... then every hour), which is what "nothing is lost when the receiver is
    down" has to cover: a weekend deploy, not a month.
    """

    base_s: float = 10.0
    cap_s: float = 3600.0
    max_attempts: int = 15

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s) or self.max_attempts < 1:
            raise ValueError(f"bad retry policy {self}")

    def delay_s(self, failures: int, rng: random.Random) -> float:
        """The wait after the `failures`-th failed attempt (1-based).

        "Equal jitter": half of the exponential step is fixed, half random. The random half spreads
        the retries of many deliveries that failed together (a receiver that comes back is not hit
        by all of them at once); the fixed half keeps each wait at least as long as the one before
        until the cap, and from there every wait between half the cap and the cap.
        """
        step = min(self.cap_s, self.base_s * 2 ** min(max(failures, 1) - 1, 40))
        return step / 2 + rng.uniform(0, step / 2)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
