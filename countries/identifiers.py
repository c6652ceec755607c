"""What every country's national id rules share: the error they raise, the separators people type.

Error reasons end up in logs and in `import_errors`, so they carry masked values only. They are in
Spanish: the people who fix a rejected row are the operators, in the dashboard's language.
"""

from __future__ import annotations

import re

from countries.privacy import mask_national_id

__all__ = ["ID_NOISE", "InvalidIdentity", "mask_national_id", "zero_id"]

# Separators people type inside ids: dots and spaces (and the odd non-breaking space from Excel).
ID_NOISE = re.compile(r"[.\s\u00a0]")


class InvalidIdentity(ValueError):
    """A national id or phone that cannot be used; `reason` is fit for an operator (and a log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def zero_id(value: str) -> InvalidIdentity:
    return InvalidIdentity(f"documento {mask_national_id(value)}: son todos ceros")
