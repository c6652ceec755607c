"""Masking of personal identifiers for logs. The database keeps full values; logs never do."""

from __future__ import annotations


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
