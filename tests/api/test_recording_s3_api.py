"""GET /api/v1/calls/{id}/recording when the recording is only in the object store (RECORDINGS_STORE=s3,
after the upload): streamed through the API from a real S3-protocol server (moto, its own process),
behind the token, whole or by range (the dashboard's <audio> player seeks by range)."""

from __future__ import annotations

import io
import re
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from api import ApiServices, OperatorApi
from campaigns.webhooks import WebhookDelivery
from media.s3_recordings import S3RecordingStore
from tests.api.conftest import TOKEN, Client
from tests.api.test_calls_api import answered_call
from tests.s3_server import S3Server


@pytest.fixture
def store(s3_server: S3Server, recordings_dir: Path) -> S3RecordingStore:
    return s3_server.store(recordings_dir)


@pytest.fixture
async def s3_api(db_pool, store: S3RecordingStore) -> AsyncIterator[Client]:
    async with WebhookDelivery(db_pool, timeout_s=2.0) as delivery:
        services = ApiServices(pool=db_pool, webhook_delivery=delivery, recordings=store,
                               ari_connected=lambda: True, currency="CLP")
        async with OperatorApi(services, tokens=[TOKEN], host="127.0.0.1", port=0) as server, \
                aiohttp.ClientSession() as session:
            yield Client(session, server.url)


async def test_a_recording_only_in_the_object_store_is_played_through_the_api(
        s3_api: Client, s3_server: S3Server, store: S3RecordingStore, db_pool, recordings_dir: Path):
    attempt = await answered_call(db_pool, recordings_dir)
    key = next(p.relative_to(recordings_dir).as_posix() for p in recordings_dir.rglob("*.wav"))
    original = (recordings_dir / key).read_bytes()
    store.upload(key)
    store.uploaded(key)
    assert store.local_file(key) is None and s3_server.head(key) is not None  # only in the bucket now

    status, _, _ = await s3_api.get(f"/api/v1/calls/{attempt}/recording", token=None)
    assert status == 401
    status, wav, resp = await s3_api.get(f"/api/v1/calls/{attempt}/recording")
    assert (status, resp.content_type, wav) == (200, "audio/wav", original)
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 8000)

    status, part, resp = await s3_api.get(f"/api/v1/calls/{attempt}/recording", headers={"Range": "bytes=44-1043"})
    assert (status, part) == (206, original[44:1044])
    assert resp.headers["Content-Range"] == f"bytes 44-1043/{len(original)}"

    s3_server.stop()  # the store down: the API says so, and says it is worth trying again
    status, body, _ = await s3_api.get(f"/api/v1/calls/{attempt}/recording")
    assert status == 503 and "try again" in body["error"]["message"]


async def test_a_local_copy_is_served_from_the_disk_and_a_missing_one_is_404(
        s3_api: Client, s3_server: S3Server, db_pool, recordings_dir: Path):
    attempt = await answered_call(db_pool, recordings_dir)  # RECORDINGS_STORE=both, or not uploaded yet
    s3_server.stop()  # the local copy needs no object store
    status, wav, _ = await s3_api.get(f"/api/v1/calls/{attempt}/recording")
    assert status == 200 and wav[:4] == b"RIFF"

    s3_server.start()
    unrecorded = await answered_call(db_pool)
    async with db_pool.connection() as conn:  # a key in neither place
        await conn.execute("UPDATE call_attempts SET recording_path = '2026/01/01/gone.wav' WHERE id = %s",
                           (unrecorded,))
    status, body, _ = await s3_api.get(f"/api/v1/calls/{unrecorded}/recording")
    assert status == 404 and "no recording" in body["error"]["message"]


async def _uploads_pending(api: Client) -> dict[str, float]:
    status, text, _ = await api.get("/metrics")
    assert status == 200
    found = re.findall(r'^callcenter_recording_uploads_pending\{state="(\w+)"\} (\S+)$', text.decode(),
                       re.MULTILINE)
    return {state: float(value) for state, value in found}


async def test_metrics_count_the_recordings_not_in_the_bucket_yet(s3_api: Client, db_pool, recordings_dir: Path):
    before = await _uploads_pending(s3_api)
    assert set(before) == {"waiting", "failing"}
    await answered_call(db_pool, recordings_dir)  # ended and recorded: its upload is pending
    after = await _uploads_pending(s3_api)
    assert (after["waiting"], after["failing"]) == (before["waiting"] + 1, before["failing"])
