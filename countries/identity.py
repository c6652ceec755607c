"""National ids and phone numbers as debtors' files bring them, made canonical.

Canonical forms matter because they are keys: a debtor is one row per (company, national id), so
'12.345.678-5' and '123456785' must become the same string or a re-import duplicates people.
Phones become E.164, the form the dialer and the do-not-call list compare. Each country's id rule
lives in its folder (`countries/cl`: the RUT); this module picks the country's.

Error reasons end up in logs and in `import_errors`, so they carry masked values only (in Spanish,
like every reason an import reports).
"""

from __future__ import annotations

import phonenumbers

from countries import country as country_named
from countries.identifiers import InvalidIdentity
from countries.privacy import mask_phone

__all__ = ["InvalidIdentity", "normalise_national_id", "normalise_phone"]


def normalise_national_id(value: object, country: str) -> str:
    """The canonical national id for `country` (ISO 3166 alpha-2): RUT, DNI/CUIT or cédula.

    Countries without an id rule keep the value as written, stripped.
    """
    text = str(value).strip()
    if not text:
        raise InvalidIdentity("falta el documento")
    found = country_named(country)
    if found is None or found.normalise_id is None:
        return text
    return found.normalise_id(text)


def normalise_phone(value: object, country: str) -> str:
    """A phone as written in a file (national or international) -> E.164, e.g. '+56987654321'.

    Only numbers phonenumbers considers valid (right length and an allocated range) pass: a
    number that cannot ring wastes dialer capacity and counts as a contact attempt.
    """
    text = str(value).strip()
    if not text:
        raise InvalidIdentity("falta el teléfono")
    shown = mask_phone(text) or "(sin dígitos)"
    try:
        parsed = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        raise InvalidIdentity(f"teléfono {shown}: no es un número de teléfono") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidIdentity(f"teléfono {shown}: no es un número válido en {country.upper()}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
