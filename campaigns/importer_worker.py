"""The import's reading and validation, in a child process: what a hostile file costs, the child pays.

The process that imports also carries live calls. Reading a sheet is memory the file decides (see
campaigns.importer_files), and validating 100,000 rows is seconds of CPU, so both run in a fresh
`python -m campaigns.importer_worker` that limits its own address space (RLIMIT_AS, IMPORT_MEMORY_MB)
before it opens the file. A file that still needs more dies there, as a MemoryError or, inside
calamine's Rust, an abort; either way the parent reports an import error and carries on.

The child answers on its stdout in frames (kind, length, payload): progress counts, then the
validated rows rendered as COPY payloads, or the reason the file was refused. The COPY payloads are
all the parent needs, so the parsed debtors themselves never cross.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pickle
import resource
import signal
import struct
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from campaigns.importer_files import ImportLimits, read_table
from campaigns.importer_rows import ImportFileError, ParseResult, parse_rows

__all__ = ["Prepared", "prepare", "prepare_in_child"]

log = logging.getLogger(__name__)

_COPY_CHUNK = 1 << 20
_FRAME = struct.Struct(">cQ")  # kind, payload length
_PROGRESS, _RESULT, _FILE_ERROR, _VALUE_ERROR = b"p", b"r", b"f", b"v"
_STDERR_KEEP = 2048


@dataclass(slots=True)
class Prepared:
    """Everything the worker produced: the parse result (without its debtors) and the COPY payloads."""

    parsed: ParseResult
    companies: list[str]
    debtors: list[bytes]
    phones: list[bytes]
    lines: list[bytes]


# ---------------------------------------------------------------- the parent's side


async def prepare_in_child(path: Path, *, company: str, country: str, timezone: str | None,
                           limits: ImportLimits, progress: Callable[[int], None] | None = None,
                           other_companies: bool = False, leads: bool = False) -> Prepared:
    """`prepare` in a child process. Raises ImportFileError when the file is refused or the child
    dies, ValueError for a bad company or country; `progress` is called here, on the event loop."""
    request = json.dumps({"path": str(path), "company": company, "country": country, "timezone": timezone,
                          "other_companies": other_companies, "leads": leads, "limits": asdict(limits)}).encode()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stderr = asyncio.create_task(_tail(proc.stderr))
    try:
        with contextlib.suppress(ConnectionError):  # a child that died at once: its exit status says why
            proc.stdin.write(request)
            await proc.stdin.drain()
            proc.stdin.close()
        while True:
            try:
                kind, size = _FRAME.unpack(await proc.stdout.readexactly(_FRAME.size))
                payload = await proc.stdout.readexactly(size)
            except asyncio.IncompleteReadError:
                break  # the child is gone without an answer
            if kind == _PROGRESS:
                if progress is not None:
                    progress(int(payload))
            elif kind == _RESULT:
                await proc.wait()
                return pickle.loads(payload)  # our own child's answer, over its own pipe
            elif kind == _VALUE_ERROR:
                raise ValueError(payload.decode())
            else:
                raise ImportFileError(payload.decode())
        status = await proc.wait()
        tail = await stderr
        log.error("import reader for %s exited with status %s: %s", path.name, status, tail or "(no output)")
        raise ImportFileError(_death(path.name, status, limits))
    finally:
        if proc.returncode is None:  # cancelled (a client hung up): the child must not outlive the import
            proc.kill()
            await proc.wait()
        stderr.cancel()


def _death(name: str, status: int, limits: ImportLimits) -> str:
    if status >= 0:
        return (f"no se pudo leer {name}: el proceso lector terminó con el estado {status} "
                "(el error está en el registro)")
    try:
        signal_name = signal.Signals(-status).name
    except ValueError:
        signal_name = f"la señal {-status}"
    # An allocation refused under RLIMIT_AS aborts Rust (calamine): SIGABRT; the kernel's OOM killer: SIGKILL.
    return (f"no se pudo leer {name}: el proceso lector terminó por {signal_name}, muy probablemente al pasar su "
            f"límite de memoria de {limits.memory_mb} MB (IMPORT_MEMORY_MB); borre las celdas sueltas fuera de la "
            "tabla o divida el archivo")


async def _tail(stream: asyncio.StreamReader) -> str:
    """The child's stderr for the log, drained so the child never blocks on it: its start (Rust's
    "memory allocation of N bytes failed" comes before a long backtrace) and its end (a traceback)."""
    head = tail = b""
    while chunk := await stream.read(65536):
        if len(head) < _STDERR_KEEP:
            head, chunk = head + chunk[: _STDERR_KEEP - len(head)], chunk[_STDERR_KEEP - len(head):]
        tail = (tail + chunk)[-_STDERR_KEEP:]
    return (head + (b"\n...\n" if tail else b"") + tail).decode(errors="replace").strip()


# ---------------------------------------------------------------- the work


def prepare(path: Path, company: str, country: str, timezone: str | None, limits: ImportLimits,
            progress: Callable[[int], None] | None = None, *, other_companies: bool = False,
            leads: bool = False) -> Prepared:
    """Read, validate, and render the COPY payloads: all the import's work before the database.
    Rows naming another company are rejected unless `other_companies`; `leads`: a sales list (see
    `parse_rows`)."""
    parsed = parse_rows(read_table(path, limits), company=company, country=country, timezone=timezone,
                        progress=progress, other_companies=other_companies, leads=leads)
    companies = sorted({company.strip()} | {d.company for d in parsed.debtors})
    debtors = _CopyBuffer()
    phones = _CopyBuffer()
    for d in parsed.debtors:
        debtors.row((d.company, d.key, d.national_id or None, "lead" if d.lead else "debtor", d.lead_phone,
                     d.full_name, d.country, d.timezone, d.variables_json(), d.amount_owed, d.installments_owed,
                     d.due_date, d.max_date, d.delinquency_type))
        for position, e164 in enumerate(d.phones):
            phones.row((d.company, d.key, e164, position))
    lines = _CopyBuffer()
    for error in parsed.errors:
        lines.row((error.line, f"aviso: {error.reason}" if error.warning else error.reason))
    parsed.debtors = []  # rendered above; the parent needs only the counts and the errors
    return Prepared(parsed, companies, debtors.chunks(), phones.chunks(), lines.chunks())


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _CopyBuffer:
    """COPY text format (tab-separated, backslash escapes, \\N for NULL), in ~1 MiB chunks."""

    def __init__(self) -> None:
        self._done: list[bytes] = []
        self._lines: list[str] = []
        self._size = 0

    def row(self, values: tuple[object, ...]) -> None:
        line = "\t".join("\\N" if v is None else str(v).translate(_COPY_ESCAPES) for v in values) + "\n"
        self._lines.append(line)
        self._size += len(line)
        if self._size >= _COPY_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._done.append("".join(self._lines).encode())
            self._lines, self._size = [], 0

    def chunks(self) -> list[bytes]:
        self._flush()
        return self._done


# ---------------------------------------------------------------- the child's side


def _limit_memory(megabytes: int) -> None:
    limit = megabytes << 20
    with contextlib.suppress(ValueError, OSError):  # a platform without RLIMIT_AS: the checks still hold
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main() -> int:
    # The frames go out on a private copy of stdout; fd 1 itself becomes stderr, so nothing a library
    # prints can corrupt them.
    frames = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)

    def send(kind: bytes, payload: bytes) -> None:
        frames.write(_FRAME.pack(kind, len(payload)))
        frames.write(payload)
        frames.flush()

    request = json.loads(sys.stdin.buffer.read())
    limits = ImportLimits(**request["limits"])
    _limit_memory(limits.memory_mb)
    path = Path(request["path"])
    try:
        prepared = prepare(path, request["company"], request["country"], request["timezone"], limits,
                           progress=lambda rows: send(_PROGRESS, str(rows).encode()),
                           other_companies=request["other_companies"] is True, leads=request["leads"] is True)
        payload = pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL)
    except ImportFileError as exc:
        send(_FILE_ERROR, str(exc).encode())
        return 0
    except MemoryError:
        send(_FILE_ERROR, (f"{path.name} necesita más memoria que el límite de una carga, {limits.memory_mb} MB "
                           "(IMPORT_MEMORY_MB): borre las celdas sueltas fuera de la tabla o divida el archivo"
                           ).encode())
        return 0
    except ValueError as exc:  # the company or the country, refused before the file was read
        send(_VALUE_ERROR, str(exc).encode())
        return 0
    send(_RESULT, payload)
    return 0


if __name__ == "__main__":
    # Run as the module's own name, not __main__: the pickled answer must name classes the parent can find.
    from campaigns.importer_worker import main as worker_main

    sys.exit(worker_main())
