"""United States: only Regulation F's limits (`profile.toml`), the international reference profile a
campaign may add to its own country's (`--profiles US`). No debtors are imported as American."""

from __future__ import annotations

from countries import Country

COUNTRY = Country(code="US")
