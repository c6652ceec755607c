"""Cell values of an imported sheet: text, dates, amounts, counts, zones, countries, header names.

Each parser takes a CSV string or an Excel value (number, date) and returns the normalised value
or raises ValueError with a reason an operator can act on, in Spanish: the import report is read
by the operators who fix the file, in the dashboard and from the CLI.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

import phonenumbers

from countries import country_code


def header_key(header: object) -> str:
    """'Teléfono 2' -> 'telefono_2': case, accents, spaces and punctuation do not matter."""
    text = unicodedata.normalize("NFKD", str(header or "")).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def cell_text(cell: object) -> str:
    """A cell as text: CSV strings stripped, Excel numbers without a spurious '.0', dates in ISO."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.replace("\x00", "").strip()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == time(0) else cell.isoformat(sep=" ")
    if isinstance(cell, date | time):
        return cell.isoformat()
    return str(cell)


# Numbers and phone numbers legitimately start with + or -; anything else starting with a formula
# trigger would run as a formula when a supervisor opens an export of this data in Excel.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_OR_PHONE = re.compile(r"[+-]?[\d\s().,/-]*\d[\d\s().,/-]*")


def neutralise(text: str) -> str:
    """Prefix a formula-looking text with an apostrophe, so spreadsheets show it instead of running it."""
    if text.startswith(_FORMULA_START) and not _NUMBER_OR_PHONE.fullmatch(text):
        return "'" + text
    return text


_ISO_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DMY_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 once Excel's fictitious 1900-02-29 is skipped


def parse_date(cell: object, label: str) -> date | None:
    """ISO (2024-03-31), dd-mm-yyyy, dd/mm/yyyy, dd.mm.yyyy, Excel date cells and date serials."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        if 61 <= cell < 2_958_466:  # a date cell the sheet formats as a number
            return _EXCEL_EPOCH + timedelta(days=int(cell))
        raise ValueError(f"{label} {cell!r}: no es una fecha")
    text = cell_text(cell)
    if not text:
        return None
    try:
        if m := _ISO_DATE.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY_DATE.fullmatch(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        raise ValueError(f"{label} {text!r}: no es una fecha válida") from None
    raise ValueError(f"{label} {text!r}: no es una fecha (use dd-mm-aaaa o aaaa-mm-dd)")


_CURRENCY = re.compile(r"(?i)us\$|\$|clp|ars|cop|usd|[\s\u00a0]")
_AMOUNT_MAX = Decimal(10) ** 12  # numeric(14, 2)
_THOUSANDS = re.compile(r"\d{1,3}\.\d{3}")
_DECIMAL = re.compile(r"\d+(\.\d+)?")
_INTEGER = re.compile(r"-?\d+")


def parse_amount(cell: object, label: str = "monto") -> Decimal | None:
    """'1.234.567', '1234567,50', '$ 1.234', '1.234,5', 1234.5 -> Decimal; Spanish separators.

    In this region '.' groups thousands and ',' is the decimal mark. A lone '.' followed by other
    than three digits ('1234.5', from a system export) is read as a decimal point.
    """
    if cell is None or cell == "":
        return None
    if isinstance(cell, int | float | Decimal) and not isinstance(cell, bool):
        value = Decimal(repr(cell)) if isinstance(cell, float) else Decimal(cell)
    else:
        text = cell_text(cell)
        if not text:
            return None
        raw = text
        text = _CURRENCY.sub("", text)
        negative = text.startswith("-") or text.endswith("-") or (text.startswith("(") and text.endswith(")"))
        text = text.strip("-()")
        if "," in text and "." in text:
            thousands, decimal = (".", ",") if text.rindex(",") > text.rindex(".") else (",", ".")
            text = text.replace(thousands, "").replace(decimal, ".")
        elif text.count(",") == 1:
            text = text.replace(",", ".")
        elif "," in text:
            text = text.replace(",", "")
        elif text.count(".") > 1 or _THOUSANDS.fullmatch(text):
            text = text.replace(".", "")
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"{label} {raw!r}: no es un monto")
        value = Decimal(text)
        if negative:
            value = -value
    try:
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"{label} {cell!r}: no es un monto") from None
    if not value.is_finite():
        raise ValueError(f"{label} {cell!r}: no es un monto")
    if value < 0:
        raise ValueError(f"{label} {cell_text(cell)!r}: valor negativo")
    if value >= _AMOUNT_MAX:
        raise ValueError(f"{label} {cell_text(cell)!r}: valor demasiado grande")
    return value


def parse_installments(cell: object, label: str = "cuotas") -> int | None:
    if cell is None or cell == "":
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    if isinstance(cell, int) and not isinstance(cell, bool):
        value = cell
    else:
        text = cell_text(cell)
        if not text:
            return None
        if not _INTEGER.fullmatch(text):
            raise ValueError(f"{label} {text!r}: no es un número entero")
        value = int(text)
    if value < 0:
        raise ValueError(f"{label} {value}: valor negativo")
    if value > 2**31 - 1:
        raise ValueError(f"{label} {value}: valor demasiado grande")
    return value


@cache
def _timezones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def parse_timezone(value: str) -> str:
    """An IANA zone, case-insensitively ('america/santiago' -> 'America/Santiago')."""
    name = _timezones().get(value.strip().lower())
    if name is None:
        raise ValueError(f"zona horaria {value!r} desconocida (use un nombre IANA, como America/Santiago)")
    return name


def parse_country(value: str) -> str:
    """'CL', 'cl', 'Chile' -> 'CL'; any ISO code phonenumbers knows is accepted."""
    text = value.strip()
    code = country_code(header_key(text)) or text.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"país {text!r} desconocido (use CL, AR, CO o Chile, Argentina, Colombia)")
    return code
