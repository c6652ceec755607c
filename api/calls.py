"""Calls: the list, one call with its results, its transcript, its recording, its events; exports."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any, Literal, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError
from api.export_formats import WRITERS
from campaigns.calls import CallOutcome, Direction
from campaigns.operators import Role
from campaigns.payment_links import link_messages
from campaigns.supervision import MAX_PAGE, CallFilter
from campaigns.transcripts import TranscriptVersions
from countries.privacy import mask_identifiers_in
from media.recordings import RecordingStoreUnavailable

EXPORT_MAX = 100_000


class CallsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: int | None = Field(None, ge=1, le=2**63 - 1)
    outcome: CallOutcome | None = None
    direction: Direction | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=10_000_000)

    def filter(self, *, limit: int | None = None) -> CallFilter:
        return CallFilter(self.campaign_id, self.outcome.value if self.outcome else None,
                          self.direction.value if self.direction else None, self.since, self.until,
                          limit or self.limit, self.offset)


class ExportQuery(CallsQuery):
    format: Literal["csv", "xlsx", "json"] = "csv"  # csv and xlsx for a Spanish-locale Excel; json for programs
    limit: int = Field(EXPORT_MAX, ge=1, le=EXPORT_MAX)


async def list_calls(call: ApiCall) -> web.StreamResponse:
    return json_response({"items": await call.services.supervision.calls(call.query.filter())})


class Reprocessing(Protocol):
    """Offline re-processing as the API sees it (the app's `ari_app.reprocess.Reprocessor`): told when
    a job was queued, so that it starts at once."""

    def wake(self) -> None: ...


async def get_call(call: ApiCall) -> web.StreamResponse:
    attempt_id = call.path["call_id"]
    found = await call.services.supervision.call(attempt_id)
    if found is None:
        raise ApiError(404, f"no call {attempt_id}")
    versions = TranscriptVersions(call.services.pool)
    found["transcript_versions"] = [{**v, "lines": [_masked_line(line) for line in v["lines"]]}
                                    for v in await versions.versions(attempt_id)]
    found["reprocessing"] = await versions.job(attempt_id)
    found["payment_links"] = await link_messages(call.services.pool, attempt_id)  # and their delivery
    return json_response(found)


def _masked_line(line: dict[str, Any]) -> dict[str, Any]:
    """A stored transcript line as the API shows it: identifiers masked, as in the transcript."""
    out = {**line, "text": mask_identifiers_in(line.get("text", ""), keyed=line.get("source") == "dtmf")}
    if "live_text" in out:
        out["live_text"] = mask_identifiers_in(out["live_text"], keyed=False)
    return out


async def _recording_key(call: ApiCall, attempt_id: object, deleted_why: str) -> str | None:
    """The call's recording key (None: never recorded); 404 for no such call, 410 once it was deleted."""
    found = await call.services.supervision.recording(attempt_id)
    if found is None:
        raise ApiError(404, f"no call {attempt_id}")
    key, deleted_at = found
    if deleted_at is not None:
        raise ApiError(410, f"the recording of call {attempt_id} was deleted on {deleted_at:%Y-%m-%d}{deleted_why}")
    return key


async def reprocess_call(call: ApiCall) -> web.StreamResponse:
    """Queue the call's offline re-processing: 202 with the job; the call's detail shows its progress
    (`reprocessing`) and, once done, both transcript versions."""
    attempt_id = call.path["call_id"]
    key = await _recording_key(call, attempt_id, ": nothing to transcribe again")
    if key is None:
        raise ApiError(409, f"call {attempt_id} was not recorded: nothing to transcribe again")
    # The job is queued in the database; this process's re-processor (or another's) takes it.
    job = await TranscriptVersions(call.services.pool).request(attempt_id, by="api")
    reprocessor: Reprocessing | None = call.services.reprocessor
    if reprocessor is not None:
        reprocessor.wake()
    return json_response({"job": job}, status=202)


async def get_transcript(call: ApiCall) -> web.StreamResponse:
    attempt_id = call.path["call_id"]
    if await call.services.supervision.call(attempt_id) is None:
        raise ApiError(404, f"no call {attempt_id}")
    return json_response({"lines": await call.services.supervision.transcript(attempt_id)})


async def get_recording(call: ApiCall) -> web.StreamResponse:
    """The local copy when this host has one, else the object store's, streamed through here: the
    dashboard's player fetches with its bearer token, which must never be sent on to the bucket
    (nor need the bucket be reachable from the operators' browsers), so no redirect to a presigned URL."""
    attempt_id = call.path["call_id"]
    key = await _recording_key(call, attempt_id, ", past the recording retention (RECORDING_RETENTION_DAYS)")
    headers = {"Content-Type": "audio/wav", "Content-Disposition": f'inline; filename="{attempt_id}.wav"'}
    store = call.services.recordings
    path = await asyncio.to_thread(store.local_file, key) if key else None  # None too for a key outside the store
    if path is not None:
        return web.FileResponse(path, headers=headers)
    byte_range = call.request.headers.get("Range", "")
    try:
        body = await asyncio.to_thread(store.fetch, key, byte_range if _ONE_RANGE.fullmatch(byte_range) else None) \
            if key else None
    except ValueError:  # a key that would leave the store: never served
        body = None
    except RecordingStoreUnavailable as exc:
        raise ApiError(503, f"the recording of call {attempt_id} is in the object store, which did not answer; "
                            "try again later") from exc
    if body is None:
        raise ApiError(404, f"no recording for call {attempt_id}")
    try:
        resp = web.StreamResponse(status=206 if body.content_range else 200,
                                  headers={**headers, "Accept-Ranges": "bytes"})
        if body.content_range:
            resp.headers["Content-Range"] = body.content_range
        resp.content_length = body.size
        await resp.prepare(call.request)
        while chunk := await asyncio.to_thread(body.read, _STREAM_CHUNK):
            await resp.write(chunk)
        await resp.write_eof()
    finally:
        await asyncio.to_thread(body.close)
    return resp


_ONE_RANGE = re.compile(r"bytes=(\d+-\d*|-\d+)")  # what an <audio> element asks for; anything else: the whole
_STREAM_CHUNK = 256 << 10


async def get_call_events(call: ApiCall) -> web.StreamResponse:
    attempt_id = call.path["call_id"]
    if await call.services.call_log.get(attempt_id) is None:
        raise ApiError(404, f"no call {attempt_id}")
    events = await call.services.call_log.events(attempt_id)
    return json_response({"events": [{"at": e.at, "kind": e.kind, "data": e.data} for e in events]})


async def export_calls(call: ApiCall) -> web.StreamResponse:
    """Admitted while an export slot is free (else 429), read whole into a spool file, then sent: the
    database connection is back in the pool before the first byte goes out (api/exports.py says why)."""
    exports = call.services.exports
    writer = WRITERS[call.query.format]
    async with exports.slot():
        await call.audit()  # admitted: who exported what is written before a row is read
        batches = call.services.supervision.export_batches(call.query.filter())
        with await exports.spool(batches, writer) as spooled:
            charset = "; charset=utf-8" if writer.extension != "xlsx" else ""
            resp = web.StreamResponse(headers={
                "Content-Type": writer.media_type + charset,
                "Content-Disposition": f'attachment; filename="llamadas.{writer.extension}"'})
            await exports.stream(spooled, call.request, resp)
    return resp


CALL = {"call_id": "uuid"}
ENDPOINTS = [
    Endpoint("GET", "/api/v1/calls", list_calls, "Calls, newest first, with outcome, result, cost",
             "calls", query=CallsQuery),
    Endpoint("GET", "/api/v1/calls/{call_id}", get_call, "One call: turns with latencies and the caller's "
             "sentiment, promise, usage and cost, analysis (and the transcript version it read), the transcript "
             "versions, the re-processing job and the payment links sent (with their delivery)", "calls",
             path_params=CALL, errors=(404,)),
    Endpoint("POST", "/api/v1/calls/{call_id}/reprocess", reprocess_call, "Transcribe the call again from its "
             "recording (the offline model, a wider beam) and re-run its analysis on that transcript; 202 with "
             "the job", "calls", path_params=CALL, ok=202, errors=(404, 409, 410)),
    Endpoint("GET", "/api/v1/calls/{call_id}/transcript", get_transcript, "The transcript: speaker, text "
             "and offsets (ms from the answer)", "calls", path_params=CALL, errors=(404,)),
    Endpoint("GET", "/api/v1/calls/{call_id}/recording", get_recording, "The recording: stereo WAV, the "
             "caller left and the agent right (410: deleted by the recording retention; 503: only in the object "
             "store, which did not answer)", "calls", path_params=CALL, produces="audio/wav", errors=(404, 410, 503),
             role=Role.SUPERVISOR, audit="listen"),
    Endpoint("GET", "/api/v1/calls/{call_id}/events", get_call_events, "The call's event journal",
             "calls", path_params=CALL, errors=(404,)),
    Endpoint("GET", "/api/v1/export/calls", export_calls, "Calls with promise and analysis: `csv` (`;`, "
             "a BOM, decimal comma and Spanish headers, as a Spanish-locale Excel opens it), `xlsx`, or `json` "
             "(field names and raw values, for programs) (429 while API_EXPORTS_MAX exports are in progress; 503 when the database takes too long to "
             "read it)", "calls", query=ExportQuery, produces="text/csv", errors=(429, 503),
             role=Role.SUPERVISOR, audit="export", audit_in_handler=True),
]
