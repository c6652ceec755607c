"""Masking of personal identifiers for logs and the operator API. The database keeps full values;
logs never do, and neither does what the API hands to dashboards, exports and integrators."""

from __future__ import annotations

import re

# A RUT as a recogniser writes it ("14.567.890-0", "14567890-K"), or a keyed entry of 7+ digits
# ("145678900#", "1456789*" with * for K). Amounts ("$1.500.000") have no check digit and are never
# keyed, so they are left alone.
_SPOKEN_RUT = re.compile(r"\b\d{1,2}\.?\d{3}\.?\d{3}\s*-\s*[\dkK]\b")
_KEYED_ID = re.compile(r"^\d{7,}[*#]?#?$")


def mask_phone(number: str) -> str:
    """'+56912345678' -> '+569*****678': enough to tell calls apart, not enough to dial."""
    digits = [c for c in number if c.isdigit()]
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if len(digits) > 8 else 1
    masked = digits[:keep_head] + ["*"] * (len(digits) - keep_head - 3) + digits[-3:]
    return ("+" if number.startswith("+") else "") + "".join(masked)


def mask_national_id(value: str) -> str:
    """'12.345.678-5' -> '****678-5': the check digit and the last digits only."""
    clean = value.replace(".", "").replace(" ", "")
    body, dash, check = clean.rpartition("-")
    if not dash:
        body, check = clean, ""
    visible = body[-3:]
    return "*" * max(len(body) - 3, 1) + visible + (f"-{check}" if dash else "")


def mask_identifiers_in(text: str, *, keyed: bool = False) -> str:
    """A transcript line with the RUTs in it masked: a caller identifying themselves by voice or keypad.

    `keyed` lines are DTMF entries: a menu key ('0', '1') stays, a long entry is an identifier.
    """
    if keyed:
        if not _KEYED_ID.match(text):
            return text
        digits = text.rstrip("#").replace("*", "K")
        return mask_national_id(f"{digits[:-1]}-{digits[-1]}")  # keyed with its check digit last
    return _SPOKEN_RUT.sub(lambda m: mask_national_id(re.sub(r"\s", "", m.group())), text)
