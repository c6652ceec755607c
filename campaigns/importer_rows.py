"""The pure half of the debtor import: header mapping and row validation, no files, no database.

Input is what a reader yields, `(line, cells)` with the header first, cells as CSV strings or
Excel values (numbers, dates). Output is one `ParsedDebtor` per (company, national id), with
duplicates merged, and one `RowError` per problem, numbered with the line the operator sees in
the file (the header is line 1), so a rejected row can be found and fixed and the file
re-imported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from campaigns.cells import (
    cell_text,
    header_key,
    neutralise,
    parse_amount,
    parse_country,
    parse_date,
    parse_installments,
    parse_timezone,
)
from countries import default_timezone
from countries.identity import InvalidIdentity, normalise_national_id, normalise_phone

PROGRESS_EVERY = 5_000


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (wrong type, unreadable, required columns missing)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem on one line. `warning` lines were loaded anyway (a bad second phone, a merge)."""

    line: int
    reason: str
    warning: bool = False


# Column keys (after `header_key`) for each field; anything unlisted becomes a prompt variable.
_ALIASES = {
    "name": ("name", "nombre", "nombre_completo", "full_name", "nombres"),
    "national_id": ("rut", "national_id", "dni", "cedula", "documento", "cuit", "cuil", "run",
                    "numero_documento", "nro_documento", "rut_deudor"),
    "company": ("company", "empresa"),
    "installments_owed": ("installments_owed", "cuotas", "cuotas_adeudadas", "installments"),
    "amount_owed": ("amount_owed", "monto", "deuda", "monto_adeudado", "amount", "monto_deuda"),
    "due_date": ("due_date", "vencimiento", "fecha_vencimiento"),
    "max_date": ("max_date", "fecha_maxima", "fecha_limite"),
    "delinquency_type": ("delinquency_type", "tipo_mora", "mora"),
    "timezone": ("timezone", "zona_horaria", "time_zone"),
    "country": ("country", "pais"),
}
_FIELD_BY_KEY = {key: name for name, keys in _ALIASES.items() for key in keys}
_PHONE_KEY = re.compile(
    r"(?:phone|telefono|fono|celular|movil|mobile|cell|tel|numero|number)s?"  # "numero": a sales list's phone
    r"(?:_?(?:\d+|movil|fijo|casa|trabajo|laboral|oficina|contacto|alternativo|adicional|mobile|home|work))?"
)
_PHONE_SPLIT = re.compile(r"[,;/|]")
_REQUIRED = {"name": "nombre/name", "national_id": "rut/dni/cedula/documento/national_id"}
# What a field is called in a reason (the import report is written for Spanish-speaking operators).
_LABELS = {"name": "nombre", "national_id": "documento (RUT, DNI o cédula)", "company": "empresa",
           "installments_owed": "cuotas", "amount_owed": "monto", "due_date": "vencimiento",
           "max_date": "fecha máxima", "delinquency_type": "tipo de mora", "timezone": "zona horaria",
           "country": "país"}


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each known field sits in a row, the phone columns, and the variable columns."""

    fields: dict[str, int]
    phones: tuple[int, ...]
    variables: tuple[tuple[int, str], ...]

    @classmethod
    def from_header(cls, header: Sequence[object], *, leads: bool = False) -> ColumnMap:
        """The header's columns; `leads`: a sales list, where a name and a phone are enough."""
        fields: dict[str, int] = {}
        phones: list[int] = []
        variables: list[tuple[int, str]] = []
        taken: set[str] = set()
        for index, cell in enumerate(header):
            written = cell_text(cell)
            key = header_key(written)
            if not key:
                continue  # an unnamed column (often stray cells right of the table)
            if _PHONE_KEY.fullmatch(key):
                phones.append(index)
            elif key in _FIELD_BY_KEY:
                name = _FIELD_BY_KEY[key]
                if name in fields:
                    raise ImportFileError(
                        f"las columnas {cell_text(header[fields[name]])!r} y {written!r} son ambas "
                        f"{_LABELS[name]}: deje una"
                    )
                fields[name] = index
            else:
                label, n = written, 2
                while label in taken:  # a repeated header must not silently overwrite its twin
                    label, n = f"{written}_{n}", n + 1
                taken.add(label)
                variables.append((index, label))
        missing = [label for name, label in _REQUIRED.items() if name not in fields
                   and not (leads and name == "national_id")]
        if not phones:
            missing.append("telefono/fono/celular/numero/phone")
        if missing:
            hint = ("; la lista de nombres y teléfonos de una campaña de ventas se carga como prospectos"
                    if "national_id" not in fields and not leads else "")
            raise ImportFileError("faltan columnas obligatorias: " + ", ".join(missing) + "; no se cargó nada" + hint)
        return cls(fields, tuple(phones), tuple(variables))


@dataclass(slots=True)
class ParsedDebtor:
    line: int  # the first line this debtor came from
    company: str
    national_id: str  # '' only for a lead that came without one
    full_name: str
    country: str
    timezone: str
    phones: list[str]
    amount_owed: Decimal | None = None
    installments_owed: int | None = None
    due_date: date | None = None
    max_date: date | None = None
    delinquency_type: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    lead: bool = False  # a sales contact (debtors.kind 'lead'), keyed by its national id or else its phone

    @property
    def lead_phone(self) -> str | None:
        """The phone a lead without a national id is known by (the first of its row)."""
        return self.phones[0] if self.lead and not self.national_id else None

    @property
    def key(self) -> str:
        """`debtors.contact_key`: how a later file finds this contact again (0021_sales_campaigns.sql)."""
        return f"lead:{self.national_id or self.phones[0]}" if self.lead else self.national_id

    def merge(self, later: ParsedDebtor) -> None:
        """A later line for the same debtor: its non-empty values win, phones are unioned in order."""
        self.full_name, self.country, self.timezone = later.full_name, later.country, later.timezone
        for name in ("amount_owed", "installments_owed", "due_date", "max_date"):
            if getattr(later, name) is not None:
                setattr(self, name, getattr(later, name))
        self.delinquency_type = later.delinquency_type or self.delinquency_type
        self.variables.update({k: v for k, v in later.variables.items() if v or k not in self.variables})
        self.phones.extend(p for p in later.phones if p not in self.phones)

    def variables_json(self) -> str:
        return json.dumps(self.variables, ensure_ascii=False)


@dataclass(slots=True)
class ParseResult:
    columns: ColumnMap | None
    debtors: list[ParsedDebtor]
    rows_read: int
    rows_rejected: int
    errors: list[RowError]

    @property
    def present_fields(self) -> frozenset[str]:
        """The optional fields the file has a column for: only those overwrite stored values."""
        return frozenset(self.columns.fields) if self.columns else frozenset()


# ---------------------------------------------------------------- rows


def parse_rows(
    rows: Iterable[tuple[int, Sequence[object]]],
    *,
    company: str,
    country: str = "CL",
    timezone: str | None = None,
    progress: Callable[[int], None] | None = None,
    other_companies: bool = False,
    leads: bool = False,
) -> ParseResult:
    """Validate every row; the first non-empty row is the header. Raises ImportFileError when the
    header lacks a required column; bad rows are reported and skipped, never fatal.

    A row's company/empresa cell may name only `company` unless `other_companies`: the upsert keys
    on (company, national id), so a stray cell would otherwise overwrite another client's debtors.

    `leads`: the file is a sales campaign's list. A name and a phone are enough; a lead without a
    national id is known by its (first) phone."""
    default_country = parse_country(country)
    default_timezone = parse_timezone(timezone) if timezone else None
    company = company.strip()
    if not company:
        raise ValueError("falta la empresa")
    it = iter(rows)
    for _, header in it:
        if any(cell_text(c) for c in header):
            columns = ColumnMap.from_header(header, leads=leads)
            break
    else:
        return ParseResult(None, [], 0, 0, [RowError(1, "el archivo no tiene filas")])

    parser = _RowParser(columns, company, default_country, default_timezone, other_companies, leads)
    by_key: dict[tuple[str, str], ParsedDebtor] = {}
    errors: list[RowError] = []
    rows_read = rejected = 0
    for line, cells in it:
        if not any(cell_text(c) for c in cells):
            continue  # blank lines and Excel's trailing ';;;;' rows are not rows
        rows_read += 1
        if progress is not None and rows_read % PROGRESS_EVERY == 0:
            progress(rows_read)
        debtor, problems, warnings = parser.parse(line, cells)
        if debtor is None:
            rejected += 1
            errors.append(RowError(line, "; ".join(problems)))
            continue
        errors.extend(RowError(line, w, warning=True) for w in warnings)
        key = (debtor.company, debtor.key)
        first = by_key.get(key)
        if first is None:
            by_key[key] = debtor
        else:
            first.merge(debtor)
            same = "documento" if debtor.national_id else "teléfono"
            errors.append(RowError(line, f"mismo {same} que la línea {first.line}: se unió a ella", warning=True))
    if rows_read == 0:
        errors.append(RowError(1, "el archivo no tiene filas, solo el encabezado"))
    if progress is not None:
        progress(rows_read)
    return ParseResult(columns, list(by_key.values()), rows_read, rejected, errors)


_OPTIONAL_FIELDS: tuple[tuple[str, Callable[[object], object]], ...] = (
    ("amount_owed", lambda v: parse_amount(v, _LABELS["amount_owed"])),
    ("installments_owed", lambda v: parse_installments(v, _LABELS["installments_owed"])),
    ("due_date", lambda v: parse_date(v, _LABELS["due_date"])),
    ("max_date", lambda v: parse_date(v, _LABELS["max_date"])),
)


# A foreign company cell is quoted in the row's reason; a whole paragraph pasted there need not be.
_COMPANY_SHOWN = 60


def _company_key(name: str) -> str:
    return " ".join(name.split()).casefold()


class _RowParser:
    """One row -> (debtor or None, problems that reject it, warnings that do not)."""

    def __init__(self, columns: ColumnMap, company: str, country: str, timezone: str | None,
                 other_companies: bool = False, leads: bool = False) -> None:
        self.columns, self.company, self.country, self.timezone = columns, company, country, timezone
        self.other_companies = other_companies
        self.leads = leads
        self._own = _company_key(company)

    def parse(self, line: int, cells: Sequence[object]) -> tuple[ParsedDebtor | None, list[str], list[str]]:
        fields = self.columns.fields

        def cell(name: str) -> object:
            index = fields.get(name)
            return cells[index] if index is not None and index < len(cells) else None

        problems: list[str] = []
        warnings: list[str] = []
        country = self.country
        if raw_country := cell_text(cell("country")):
            try:
                country = parse_country(raw_country)
            except ValueError as exc:
                problems.append(str(exc))
        company = self._company(cell_text(cell("company")), problems)

        national_id = ""
        written_id = cell_text(cell("national_id"))
        if written_id.strip() or not self.leads:  # a lead may come without one; one written must be valid
            try:
                national_id = normalise_national_id(written_id, country)
            except InvalidIdentity as exc:
                problems.append(exc.reason)

        name = " ".join(cell_text(cell("name")).split())
        if not name:
            problems.append("falta el nombre")
        name = self._safe(name, _LABELS["name"], warnings)

        phones: list[str] = []
        bad_phones: list[str] = []
        for index in self.columns.phones:
            for part in _PHONE_SPLIT.split(cell_text(cells[index]) if index < len(cells) else ""):
                if not part.strip():
                    continue
                try:
                    e164 = normalise_phone(part, country)
                except InvalidIdentity as exc:
                    bad_phones.append(exc.reason)
                    continue
                if e164 not in phones:
                    phones.append(e164)
        if not phones:
            problems.append("ningún teléfono válido" + (f" ({'; '.join(bad_phones)})" if bad_phones else ""))
        else:
            warnings.extend(f"{reason}: se omitió, se cargaron los otros teléfonos de la fila" for reason in bad_phones)

        values: dict[str, object] = {}
        for key, parse in _OPTIONAL_FIELDS:
            try:
                values[key] = parse(cell(key))
            except ValueError as exc:
                problems.append(str(exc))

        timezone = self.timezone or default_timezone(country)
        if raw_tz := cell_text(cell("timezone")):
            try:
                timezone = parse_timezone(raw_tz)
            except ValueError as exc:
                problems.append(str(exc))
        elif timezone is None:
            problems.append(f"no hay zona horaria para el país {country}: agregue una columna zona_horaria")

        delinquency = self._safe(cell_text(cell("delinquency_type")), _LABELS["delinquency_type"], warnings)
        variables = {
            header: self._safe(cell_text(cells[index]) if index < len(cells) else "", header, warnings)
            for index, header in self.columns.variables
        }
        if problems:
            return None, problems, []
        debtor = ParsedDebtor(line=line, company=company, national_id=national_id, full_name=name,
                              country=country, timezone=timezone or "", phones=phones,
                              delinquency_type=delinquency, variables=variables, lead=self.leads,
                              **values)  # type: ignore[arg-type]
        return debtor, problems, warnings

    def _company(self, text: str, problems: list[str]) -> str:
        """The row's company: the import's unless the cell names another one and that was allowed."""
        written = " ".join(text.split())
        if not written or _company_key(written) == self._own:
            return self.company  # "acme " in a file for "ACME" is ACME, not a second company
        if not self.other_companies:
            shown = written if len(written) <= _COMPANY_SHOWN else written[:_COMPANY_SHOWN] + "..."
            problems.append(f"empresa {shown!r}: no es la de esta carga ({self.company!r}); cargue el archivo de "
                            "cada empresa para ella, o permita otras empresas de forma explícita")
        return written

    @staticmethod
    def _safe(text: str, label: str, warnings: list[str]) -> str:
        safe = neutralise(text)
        if safe is not text:
            warnings.append(f"{label} parece una fórmula de planilla: se guardó como texto, con un apóstrofo al inicio")
        return safe
