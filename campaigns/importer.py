"""Debtor import from the operator's .csv or .xlsx: validate every row, load the good ones in bulk.

Two halves. Reading and validating (campaigns.importer_files, campaigns.importer_rows) is memory the
file decides and CPU work (phonenumbers alone is ~25 us a number), so it runs in a child process with
a memory limit (campaigns.importer_worker): the process that carries live calls neither stalls nor
pays for a hostile file. Loading is set-based: the rows are COPYed into temporary staging tables and
merged with a handful of `INSERT ... ON CONFLICT` statements in one transaction, so 100,000
debtors cost a few round trips, a failed import leaves nothing half-loaded, and re-importing the
same file updates debtors and phones instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from campaigns.importer_files import ImportLimits, read_table
from campaigns.importer_rows import ImportFileError, RowError
from campaigns.importer_worker import prepare_in_child

__all__ = ["DebtorImporter", "ImportFileError", "ImportLimits", "ImportReport", "RowError", "read_table"]


# ---------------------------------------------------------------- the report


@dataclass(slots=True)
class ImportReport:
    import_id: int
    source: str
    rows_read: int
    debtors_new: int
    debtors_updated: int
    rows_rejected: int
    errors: list[RowError] = field(default_factory=list)

    def summary(self, max_lines: int = 20) -> str:
        """A few lines for the CLI: the counts, then the first problems with their line numbers."""
        text = [(
            f"import {self.import_id} ({self.source}): {self.rows_read} rows read, {self.debtors_new} new debtors, "
            f"{self.debtors_updated} updated, {self.rows_rejected} rows rejected"
        )]
        for error in self.errors[:max_lines]:
            text.append(f"  line {error.line}: {'warning: ' if error.warning else ''}{error.reason}")
        if len(self.errors) > max_lines:
            text.append(f"  ... and {len(self.errors) - max_lines} more (table import_errors, import_id {self.import_id})")
        return "\n".join(text)


# ---------------------------------------------------------------- loading


_STAGING = """
CREATE TEMP TABLE import_debtors (
    company text NOT NULL, contact_key text NOT NULL, national_id text, kind text NOT NULL, lead_phone text,
    full_name text NOT NULL, country text NOT NULL,
    timezone text NOT NULL, variables jsonb NOT NULL, amount_owed numeric(14, 2), installments_owed integer,
    due_date date, max_date date, delinquency_type text NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE import_phones (company text NOT NULL, contact_key text NOT NULL, e164 text NOT NULL,
                                 position smallint NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE import_lines (line integer NOT NULL, reason text NOT NULL) ON COMMIT DROP;
"""
_DEBTOR_COLUMNS = ("company", "contact_key", "national_id", "kind", "lead_phone", "full_name", "country", "timezone", "variables", "amount_owed",
                   "installments_owed", "due_date", "max_date", "delinquency_type")
# Optional columns only overwrite stored values when the file has that column: a phones-only
# update file must not blank the amounts a previous file brought.
_OPTIONAL_COLUMNS = ("amount_owed", "installments_owed", "due_date", "max_date", "delinquency_type")

_UPSERT_DEBTORS = """
WITH upserted AS (
    INSERT INTO debtors AS d (company_id, national_id, kind, lead_phone, full_name, country, timezone, variables,
                              amount_owed, installments_owed, due_date, max_date, delinquency_type, import_id)
    SELECT c.id, s.national_id, s.kind, s.lead_phone, s.full_name, s.country, s.timezone, s.variables,
           s.amount_owed, s.installments_owed, s.due_date, s.max_date, s.delinquency_type, {import_id}
    FROM import_debtors s JOIN companies c ON c.name = s.company
    ORDER BY c.id, s.contact_key  -- one lock order for every import: concurrent imports cannot deadlock
    ON CONFLICT (company_id, contact_key) DO UPDATE SET
        full_name = EXCLUDED.full_name, country = EXCLUDED.country, timezone = EXCLUDED.timezone,
        variables = d.variables || EXCLUDED.variables, import_id = EXCLUDED.import_id, updated_at = now()
        {optional}
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
"""
# Existing phones keep their status (a number marked wrong stays wrong); only the order changes.
_UPSERT_PHONES = """
INSERT INTO phones AS p (debtor_id, e164, position)
SELECT d.id, s.e164, s.position
FROM import_phones s
JOIN companies c ON c.name = s.company
JOIN debtors d ON d.company_id = c.id AND d.contact_key = s.contact_key
ORDER BY d.id, s.e164
ON CONFLICT (debtor_id, e164) DO UPDATE SET position = EXCLUDED.position
    WHERE p.position IS DISTINCT FROM EXCLUDED.position
"""


class DebtorImporter:
    def __init__(self, pool: AsyncConnectionPool, limits: ImportLimits | None = None) -> None:
        self._pool = pool
        self._limits = limits or ImportLimits()

    async def import_file(
        self,
        path: str | Path,
        *,
        company: str,
        country: str = "CL",
        timezone: str | None = None,
        progress: Callable[[int], None] | None = None,
        other_companies: bool = False,
        leads: bool = False,
    ) -> ImportReport:
        """Import one file for `company`. Raises ImportFileError when the file as a whole is
        unusable (nothing is loaded then); otherwise bad rows are in the report and the rest load.
        A row whose company/empresa names another company is one of those bad rows unless
        `other_companies`: an operator's file for one client must not overwrite another's debtors.
        `leads`: a sales campaign's list of contacts (a name and a phone are enough), not debtors."""
        path = Path(path)
        # `progress` is called on the event loop, as the child's counts arrive: callers may touch loop state.
        prepared = await prepare_in_child(path, company=company, country=country, timezone=timezone,
                                          limits=self._limits, progress=progress, other_companies=other_companies,
                                          leads=leads)
        parsed = prepared.parsed
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO companies (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING",
                (prepared.companies,),
            )
            cur = await conn.execute(
                "INSERT INTO imports (source, company_id) SELECT %s, id FROM companies WHERE name = %s RETURNING id",
                (path.name, company.strip()),
            )
            (import_id,) = await cur.fetchone()
            await conn.execute(_STAGING)
            await _copy(conn, f"COPY import_debtors ({', '.join(_DEBTOR_COLUMNS)}) FROM STDIN", prepared.debtors)
            await _copy(conn, "COPY import_phones (company, contact_key, e164, position) FROM STDIN", prepared.phones)
            await _copy(conn, "COPY import_lines (line, reason) FROM STDIN", prepared.lines)
            await conn.execute("ANALYZE import_debtors; ANALYZE import_phones")
            optional = sql.SQL("").join(
                sql.SQL(", {col} = EXCLUDED.{col}").format(col=sql.Identifier(col))
                for col in _OPTIONAL_COLUMNS if col in parsed.present_fields
            )
            cur = await conn.execute(
                sql.SQL(_UPSERT_DEBTORS).format(import_id=sql.Literal(import_id), optional=optional)
            )
            debtors_new, debtors_updated = await cur.fetchone()
            await conn.execute(_UPSERT_PHONES)
            await conn.execute(
                "INSERT INTO import_errors (import_id, line, reason) SELECT DISTINCT %s, line, reason FROM import_lines",
                (import_id,),
            )
            await conn.execute(
                """UPDATE imports SET finished_at = clock_timestamp(), rows_read = %s, debtors_new = %s,
                          debtors_updated = %s, rows_rejected = %s WHERE id = %s""",
                (parsed.rows_read, debtors_new, debtors_updated, parsed.rows_rejected, import_id),
            )
        return ImportReport(import_id=import_id, source=path.name, rows_read=parsed.rows_read,
                            debtors_new=debtors_new, debtors_updated=debtors_updated,
                            rows_rejected=parsed.rows_rejected, errors=parsed.errors)


async def _copy(conn: AsyncConnection, statement: str, chunks: list[bytes]) -> None:
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        for chunk in chunks:
            await copy.write(chunk)
