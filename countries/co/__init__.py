"""Colombia: the cédula, Bogotá time, Ley 2300's limits (`profile.toml`), and "barras" and "palos"."""

from __future__ import annotations

import re

from countries import Country
from countries.identifiers import InvalidIdentity, zero_id
from countries.privacy import mask_national_id


def normalise_colombian_id(value: str) -> str:
    """Cédula de ciudadanía: 6 to 10 digits, written with or without thousands dots."""
    digits = re.sub(r"[.,\s\u00a0]", "", value)
    if not digits.isdigit():
        raise InvalidIdentity(f"cédula {mask_national_id(value)}: debe tener solo dígitos")
    if not 6 <= len(digits) <= 10:
        raise InvalidIdentity(f"la cédula debe tener de 6 a 10 dígitos, no {len(digits)}")
    if not int(digits):
        raise zero_id(value)
    return str(int(digits))



COUNTRY = Country(
    code="CO", names=("colombia",), timezone="America/Bogota", id_name="cédula",
    normalise_id=normalise_colombian_id,
    money_words={"barra": 1_000, "barras": 1_000, "palo": 1_000_000, "palos": 1_000_000},
)
