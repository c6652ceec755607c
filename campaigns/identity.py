"""National ids and phone numbers as debtors' files bring them, made canonical.

Canonical forms matter because they are keys: a debtor is one row per (company, national id), so
'12.345.678-5' and '123456785' must become the same string or a re-import duplicates people.
Phones become E.164, the form the dialer and the do-not-call list compare.

Error reasons end up in logs and in `import_errors`, so they carry masked values only.
"""

from __future__ import annotations

import re

import phonenumbers

from campaigns.privacy import mask_national_id, mask_phone


class InvalidIdentity(ValueError):
    """A national id or phone that cannot be used; `reason` is fit for an operator (and a log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Separators people type inside ids: dots and spaces (and the odd non-breaking space from Excel).
_ID_NOISE = re.compile(r"[.\s\u00a0]")
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
    text = _ID_NOISE.sub("", str(value)).upper()
    if not text:
        raise InvalidIdentity("RUT is empty")
    match = _RUT.fullmatch(text)
    if match is None:
        raise InvalidIdentity(f"RUT {mask_national_id(text)} is not of the form 12.345.678-5")
    body = int(match.group(1))
    if not 0 < body <= _RUT_MAX_BODY:
        raise InvalidIdentity(f"RUT {mask_national_id(text)} is out of range")
    expected, given = rut_check_digit(body), match.group(2)
    if given != expected:
        raise InvalidIdentity(f"RUT check digit should be {expected}, not {given} ({mask_national_id(text)})")
    return f"{body}-{expected}"


_CUIT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def cuit_check_digit(first_ten: str) -> int | None:
    """The modulo-11 check digit of a CUIT/CUIL's first ten digits; None when no digit fits (10)."""
    remainder = 11 - sum(int(d) * w for d, w in zip(first_ten, _CUIT_WEIGHTS, strict=True)) % 11
    return 0 if remainder == 11 else None if remainder == 10 else remainder


def _normalise_argentine_id(value: str) -> str:
    """DNI (7-8 digits) -> digits only; CUIT/CUIL (11 digits) -> 'XX-XXXXXXXX-X' after its check digit."""
    digits = re.sub(r"[.\s\u00a0-]", "", value)
    if not digits.isdigit():
        raise InvalidIdentity(f"DNI/CUIT {mask_national_id(value)} must contain only digits")
    if len(digits) in (7, 8):
        if not int(digits):
            raise _zero_id(value)
        return str(int(digits))
    if len(digits) == 11:
        expected = cuit_check_digit(digits[:10])
        if expected is None or expected != int(digits[10]):
            should = "impossible for this prefix" if expected is None else f"should be {expected}"
            raise InvalidIdentity(f"CUIT/CUIL check digit {should}, not {digits[10]} ({mask_national_id(value)})")
        return f"{digits[:2]}-{digits[2:10]}-{digits[10]}"
    raise InvalidIdentity(f"DNI must have 7-8 digits or CUIT/CUIL 11, not {len(digits)}")


def _normalise_colombian_id(value: str) -> str:
    """Cédula de ciudadanía: 6 to 10 digits, written with or without thousands dots."""
    digits = re.sub(r"[.,\s\u00a0]", "", value)
    if not digits.isdigit():
        raise InvalidIdentity(f"cédula {mask_national_id(value)} must contain only digits")
    if not 6 <= len(digits) <= 10:
        raise InvalidIdentity(f"cédula must have 6-10 digits, not {len(digits)}")
    if not int(digits):
        raise _zero_id(value)
    return str(int(digits))


def _zero_id(value: str) -> InvalidIdentity:
    return InvalidIdentity(f"national id {mask_national_id(value)} is all zeros")


def normalise_national_id(value: object, country: str) -> str:
    """The canonical national id for `country` (ISO 3166 alpha-2): RUT, DNI/CUIT or cédula.

    Other countries have no rule here yet: the value is kept as written, stripped.
    """
    text = str(value).strip()
    if not text:
        raise InvalidIdentity("national id is empty")
    country = country.upper()
    if country == "CL":
        return normalise_rut(text)
    if country == "AR":
        return _normalise_argentine_id(text)
    if country == "CO":
        return _normalise_colombian_id(text)
    return text


def normalise_phone(value: object, country: str) -> str:
    """A phone as written in a file (national or international) -> E.164, e.g. '+56987654321'.

    Only numbers phonenumbers considers valid (right length and an allocated range) pass: a
    number that cannot ring wastes dialer capacity and counts as a contact attempt.
    """
    text = str(value).strip()
    if not text:
        raise InvalidIdentity("phone is empty")
    shown = mask_phone(text) or "(no digits)"
    try:
        parsed = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        raise InvalidIdentity(f"phone {shown} is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidIdentity(f"phone {shown} is not a valid number for {country.upper()}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
