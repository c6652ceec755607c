"""Argentina: DNI and CUIT/CUIL (with its check digit), Buenos Aires time, a conservative profile
(`profile.toml`), and "lucas" for thousands."""

from __future__ import annotations

import re

from countries import Country
from countries.identifiers import InvalidIdentity, zero_id
from countries.privacy import mask_national_id

_CUIT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def cuit_check_digit(first_ten: str) -> int | None:
    """The modulo-11 check digit of a CUIT/CUIL's first ten digits; None when no digit fits (10)."""
    remainder = 11 - sum(int(d) * w for d, w in zip(first_ten, _CUIT_WEIGHTS, strict=True)) % 11
    return 0 if remainder == 11 else None if remainder == 10 else remainder


def normalise_argentine_id(value: str) -> str:
    """DNI (7-8 digits) -> digits only; CUIT/CUIL (11 digits) -> 'XX-XXXXXXXX-X' after its check digit."""
    digits = re.sub(r"[.\s\u00a0-]", "", value)
    if not digits.isdigit():
        raise InvalidIdentity(f"DNI/CUIT {mask_national_id(value)}: debe tener solo dígitos")
    if len(digits) in (7, 8):
        if not int(digits):
            raise zero_id(value)
        return str(int(digits))
    if len(digits) == 11:
        expected = cuit_check_digit(digits[:10])
        if expected is None:
            raise InvalidIdentity(f"CUIT/CUIL {mask_national_id(value)}: ningún dígito verificador sirve "
                                  "para ese prefijo")
        if expected != int(digits[10]):
            raise InvalidIdentity(f"el dígito verificador del CUIT/CUIL debería ser {expected}, no {digits[10]} "
                                  f"({mask_national_id(value)})")
        return f"{digits[:2]}-{digits[2:10]}-{digits[10]}"
    raise InvalidIdentity(f"el DNI debe tener 7 u 8 dígitos, o el CUIT/CUIL 11, no {len(digits)}")



COUNTRY = Country(
    code="AR", names=("argentina",), timezone="America/Argentina/Buenos_Aires", id_name="DNI",
    normalise_id=normalise_argentine_id, money_words={"luca": 1_000, "lucas": 1_000},
)
