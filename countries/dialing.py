"""How a number is written to the carrier: E.164 with or without '+', or the national form.

Numbers are kept in E.164 everywhere else (the debtor's phones, the do-not-call list, the call
record); only the Request-URI sent to the trunk changes. Carriers differ: many take '+E.164', some
E.164 without '+', some only what a local subscriber would dial (Argentina's mobiles as
0 + area + 15 + number, Colombia's landlines as 60x + number), often behind a technical prefix.
The national form is phonenumbers' own, digits only.
"""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers

from countries.privacy import mask_phone

NumberFormat = Literal["+e164", "e164", "national"]
NUMBER_FORMATS: tuple[NumberFormat, ...] = ("+e164", "e164", "national")
# A carrier's technical prefix (or an international access code): what a keypad can send.
DIAL_PREFIX = re.compile(r"[0-9*#]*")


def trunk_number(number: str, number_format: NumberFormat = "+e164", prefix: str = "") -> str:
    """`number` ('+5491123456789', or a lab extension without '+') as the carrier wants it dialed.

    A number without '+' is not E.164 (an extension, or already in the carrier's form): only the
    prefix is added to it.
    """
    if number_format not in NUMBER_FORMATS:
        raise ValueError(f"unknown number format {number_format!r} (one of {', '.join(NUMBER_FORMATS)})")
    if not DIAL_PREFIX.fullmatch(prefix):
        raise ValueError("a dial prefix has only digits, '*' and '#'")
    if not number.startswith("+"):
        return prefix + number
    if number_format == "+e164":
        return prefix + number
    if number_format == "e164":
        return prefix + number[1:]
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{mask_phone(number)} is not an E.164 number") from None
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return prefix + "".join(c for c in national if c.isdigit())
