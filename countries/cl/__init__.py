"""Chile: the RUT (modulo-11 check digit), Santiago's time, Ley 19.496's limits (`profile.toml`),
and the money slang callers use ("cinco lucas", "medio palo")."""

from __future__ import annotations

import re

from countries import Country
from countries.identifiers import ID_NOISE, InvalidIdentity
from countries.privacy import mask_national_id

_RUT = re.compile(r"(\d{1,9})-?([0-9K])")
_RUT_MAX_BODY = 99_999_999


def rut_check_digit(body: int) -> str:
    """The modulo-11 check digit of a RUT body: '0'-'9' or 'K'."""
    total, factor = 0, 2
    while body:
        body, digit = divmod(body, 10)
        total += digit * factor
        factor = 2 if factor == 7 else factor + 1
    remainder = 11 - total % 11
    return "0" if remainder == 11 else "K" if remainder == 10 else str(remainder)


def normalise_rut(value: object) -> str:
    """'12.345.678-5', '12345678-5', '123456785' -> '12345678-5' (no dots, upper-case K).

    Without a dash the last character is taken as the check digit, as RUTs are always written.
    """
    text = ID_NOISE.sub("", str(value)).upper()
    if not text:
        raise InvalidIdentity("falta el RUT")
    match = _RUT.fullmatch(text)
    if match is None:
        raise InvalidIdentity(f"RUT {mask_national_id(text)}: no tiene la forma 12.345.678-5")
    body = int(match.group(1))
    if not 0 < body <= _RUT_MAX_BODY:
        raise InvalidIdentity(f"RUT {mask_national_id(text)}: fuera de rango")
    expected, given = rut_check_digit(body), match.group(2)
    if given != expected:
        raise InvalidIdentity(f"el dígito verificador del RUT debería ser {expected}, no {given} "
                              f"({mask_national_id(text)})")
    return f"{body}-{expected}"



COUNTRY = Country(
    code="CL", names=("chile",), timezone="America/Santiago", id_name="RUT", normalise_id=normalise_rut,
    money_words={"luca": 1_000, "lucas": 1_000, "palo": 1_000_000, "palos": 1_000_000},
)
