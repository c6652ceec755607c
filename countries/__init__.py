"""The countries the call center works in, one folder each.

A country's folder holds everything that differs from one country to the next, side by side:
- `__init__.py`: a `COUNTRY` (its names, its debtors' default timezone, its national id and how it is
  validated, the money slang its callers use);
- `profile.toml`: the law's limits on collection calls, with the law named on each rule
  (`countries.profile` reads it).
Adding a country (Peru, Mexico) is adding a folder here; nothing else lists the countries.
Phone numbers need no folder: `phonenumbers` knows every country's numbering plan.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources

__all__ = ["Country", "all_countries", "country", "country_code", "default_timezone"]


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # ISO 3166 alpha-2, upper case: also the folder's name in lower case
    names: tuple[str, ...] = ()  # how a spreadsheet may name it ('chile'), lower case, without accents
    timezone: str | None = None  # its debtors' zone when the file gives none; None: not a debtor country
    id_name: str = "national id"  # what callers call their national id ("RUT")
    # Canonical form of a national id, raising `InvalidIdentity`; None: kept as written.
    normalise_id: Callable[[str], str] | None = None
    # Money slang callers use: a word and the amount it multiplies by ("luca" 1.000, "palo" 1.000.000).
    money_words: Mapping[str, int] = field(default_factory=dict)

    def profile_toml(self) -> str | None:
        """The text of its legal profile (`profile.toml` in its folder), None when it has none."""
        path = resources.files(f"{__name__}.{self.code.lower()}") / "profile.toml"
        return path.read_text("utf-8") if path.is_file() else None


@functools.cache
def all_countries() -> dict[str, Country]:
    """Every country folder's `COUNTRY`, by code."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            c: Country = importlib.import_module(f"{__name__}.{module.name}").COUNTRY
            found[c.code] = c
    return found


def country(code: str) -> Country | None:
    return all_countries().get(code.upper())


def default_timezone(code: str) -> str | None:
    """The zone of a country's debtors when their file gives none."""
    c = country(code)
    return c.timezone if c else None


def country_code(name: str) -> str | None:
    """The code of a country by one of its names ('chile' -> 'CL'); None when no folder names it so."""
    return next((c.code for c in all_countries().values() if name in c.names), None)
