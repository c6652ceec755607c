"""Recordings in an object store, against a real S3-protocol server (moto, its own process) and a real
PostgreSQL: written locally first, uploaded and verified, read back, encrypted when asked, deleted
everywhere by the retention, and never lost while the store is down."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.recordings import recording_store
from ari_app.settings import Settings
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.db import open_database
from campaigns.recording_uploads import RecordingUploader, RecordingUploads
from campaigns.recordings import RecordingLedger, RecordingRetention
from media.recordings import RecordingStoreUnavailable, readable_recording, recording_key
from media.s3_recordings import S3RecordingStore
from tests.s3_server import ACCESS_KEY, SECRET_KEY, S3Server
from tests.scratch_db import scratch_database

FRAMES = bytes(range(256)) * 40  # 10240 bytes: 2560 stereo 16-bit frames


@pytest.fixture(scope="module")
def uploads_database_url(database_url: str) -> Iterator[str]:
    """A database of this module's own: the uploader takes every pending recording it finds, and the
    session's database holds other tests' recordings, whose files are not on this disk."""
    with scratch_database(database_url, "callcenter_s3") as url:
        yield url


@pytest.fixture
async def pool(uploads_database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with open_database(uploads_database_url, max_size=2) as p:
        yield p


def write_recording(store: S3RecordingStore, key: str) -> bytes:
    """A recording as the recorder writes it (through the store, in pieces); its bytes on disk."""
    recording = store.open(key, channels=2, sample_rate=8000)
    recording.append(FRAMES[:4096])
    recording.append(FRAMES[4096:])
    recording.close()
    path = store.local_file(key)
    assert path is not None
    return path.read_bytes()


async def recorded_call(pool: AsyncConnectionPool, store: S3RecordingStore, *, age: timedelta = timedelta(0),
                        node: str = "node-a") -> tuple[uuid.UUID, str, bytes]:
    """An ended call of `node` whose recording was written through `store` (locally, as always first)."""
    log = CallLog(pool, node=node)
    attempt = uuid.uuid4()
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"s3-{attempt}",
                           remote_number="+56955550091", endpoint="PJSIP/x@trunk")
    await log.mark_answered(attempt)
    made_at = datetime.now().astimezone() - age
    key = recording_key(attempt, made_at.date())
    data = write_recording(store, key)
    await log.record_results(attempt, recording_path=key, recording_ms=160, usage={}, cost=None, cost_detail={})
    await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt="Normal Clearing")
    async with pool.connection() as conn:
        await conn.execute("UPDATE call_attempts SET created_at = %s WHERE id = %s", (made_at, attempt))
    return attempt, key, data


async def upload_state(pool: AsyncConnectionPool, attempt: uuid.UUID) -> tuple[bool, int, str | None]:
    """(uploaded, tries, last error) of the call's recording."""
    async with pool.connection() as conn:
        cur = await conn.execute("""SELECT recording_uploaded_at IS NOT NULL, recording_upload_tries,
                                           recording_upload_error FROM call_attempts WHERE id = %s""", (attempt,))
        return await cur.fetchone()


def test_a_recording_is_uploaded_verified_and_read_back(s3_server: S3Server, tmp_path: Path):
    store = s3_server.store(tmp_path)
    key = recording_key(uuid.uuid4(), datetime.now().date())
    data = write_recording(store, key)

    store.upload(key)
    assert s3_server.head(key)["ContentLength"] == len(data)
    assert store.local_file(key) is not None  # kept until the upload is on record
    store.uploaded(key)
    assert store.local_file(key) is None and not (tmp_path / key).parent.exists()  # RECORDINGS_STORE=s3

    body = store.fetch(key)
    assert body is not None and body.read(1 << 20) == data
    body.close()
    part = store.fetch(key, "bytes=44-99")  # a player seeking: the WAV header skipped
    assert part is not None and part.read(1 << 20) == data[44:100]
    assert (part.size, part.total, part.content_range) == (56, len(data), f"bytes 44-99/{len(data)}")
    part.close()
    with readable_recording(store, key) as copy:  # what the re-processor reads
        assert copy.read_bytes() == data
    assert store.fetch(recording_key(uuid.uuid4(), datetime.now().date())) is None


@pytest.mark.parametrize("sse", ["AES256", "aws:kms", None])
def test_the_server_side_encryption_asked_for_is_on_every_object(s3_server: S3Server, tmp_path: Path, sse):
    store = s3_server.store(tmp_path, sse=sse)
    key = recording_key(uuid.uuid4(), datetime.now().date())
    write_recording(store, key)
    store.upload(key)
    assert s3_server.head(key).get("ServerSideEncryption") == sse


def test_the_store_is_built_from_the_settings(s3_server: S3Server, tmp_path: Path):
    settings = Settings(RECORDINGS_STORE="both", RECORDINGS_DIR=str(tmp_path), RECORDINGS_S3_BUCKET=s3_server.bucket,
                        RECORDINGS_S3_PREFIX="/calls/", RECORDINGS_S3_ENDPOINT_URL=s3_server.url,
                        RECORDINGS_S3_REGION="us-east-1", RECORDINGS_S3_ACCESS_KEY_ID=ACCESS_KEY,
                        RECORDINGS_S3_SECRET_ACCESS_KEY=SECRET_KEY, RECORDINGS_S3_SSE="AES256")
    store = recording_store(settings)
    assert isinstance(store, S3RecordingStore) and store.uploads
    key = recording_key(uuid.uuid4(), datetime.now().date())
    data = write_recording(store, key)
    store.upload(key)
    store.uploaded(key)
    assert (tmp_path / key).read_bytes() == data  # both: the local copy stays
    assert s3_server.head(key)["ServerSideEncryption"] == "AES256"


@pytest.mark.parametrize(("env", "says"), [
    ({"RECORDINGS_STORE": "s3"}, "needs RECORDINGS_S3_BUCKET"),
    ({"RECORDINGS_STORE": "both", "RECORDINGS_S3_BUCKET": "b", "RECORDINGS_S3_ACCESS_KEY_ID": "k"}, "set both"),
    ({"RECORDINGS_STORE": "s3", "RECORDINGS_S3_BUCKET": "b", "RECORDINGS_S3_SSE": "yes"}, "RECORDINGS_S3_SSE"),
])
def test_a_store_that_cannot_work_is_refused_at_start(env, says):
    with pytest.raises(ValueError, match=says):
        Settings(**env)


def test_production_refuses_recordings_sent_over_plain_http_to_another_host():
    remote = Settings(RECORDINGS_STORE="s3", RECORDINGS_S3_BUCKET="b", RECORDINGS_S3_ENDPOINT_URL="http://10.1.2.3:9000")
    assert any("RECORDINGS_S3_ENDPOINT_URL is plain http" in r for r in remote.insecure_reasons())
    for fine in ("https://10.1.2.3:9000", "http://127.0.0.1:9000", ""):
        settings = Settings(RECORDINGS_STORE="s3", RECORDINGS_S3_BUCKET="b", RECORDINGS_S3_ENDPOINT_URL=fine)
        assert not any("RECORDINGS_S3" in r for r in settings.insecure_reasons())


async def test_an_outage_of_the_store_loses_no_recording(pool, s3_server: S3Server, tmp_path: Path):
    now = datetime.now().astimezone()
    clock = [now]
    store = s3_server.store(tmp_path)
    uploader = RecordingUploader(RecordingUploads(pool, node="node-outage"), store, backoff_s=10,
                                 clock=lambda: clock[0])
    s3_server.stop()  # the store goes down; a call is recorded meanwhile
    attempt, key, data = await recorded_call(pool, store, node="node-outage")

    assert await uploader.run_once() == 0
    uploaded, tries, error = await upload_state(pool, attempt)
    assert (uploaded, tries) == (False, 1) and "RecordingStoreUnavailable" in error
    assert (tmp_path / key).read_bytes() == data  # the local copy is all there is: kept
    with pytest.raises(RecordingStoreUnavailable):
        store.fetch(key)

    s3_server.start()  # back (moto starts empty: the operator's bucket is there again)
    assert await uploader.run_once() == 0  # not before its next try is due (10 s later)
    clock[0] = now + timedelta(seconds=11)
    assert await uploader.run_once() == 1
    assert await upload_state(pool, attempt) == (True, 1, None)
    assert s3_server.head(key)["ContentLength"] == len(data)
    assert not (tmp_path / key).exists()  # RECORDINGS_STORE=s3: the local copy went after the verified upload
    body = store.fetch(key)
    assert body is not None and body.read(1 << 20) == data
    body.close()
    assert await uploader.run_once() == 0  # nothing is uploaded twice


async def test_each_node_uploads_the_recordings_on_its_own_disk(pool, s3_server: S3Server, tmp_path: Path):
    store_a, store_b = s3_server.store(tmp_path / "a"), s3_server.store(tmp_path / "b")
    attempt_a, key_a, _ = await recorded_call(pool, store_a, node="node-a")
    _, key_b, _ = await recorded_call(pool, store_b, node="node-b")
    assert await RecordingUploader(RecordingUploads(pool, node="node-b"), store_b).run_once() == 1
    assert (await upload_state(pool, attempt_a))[:2] == (False, 0)  # node-a's recording waits for node-a
    assert s3_server.head(key_b) is not None and s3_server.head(key_a) is None
    assert await RecordingUploader(RecordingUploads(pool, node="node-a"), store_a).run_once() == 1
    assert s3_server.head(key_a) is not None


async def test_the_retention_deletes_both_copies_before_the_row(pool, s3_server: S3Server, tmp_path: Path):
    store = s3_server.store(tmp_path, keep_local=True)  # RECORDINGS_STORE=both
    old, old_key, _ = await recorded_call(pool, store, age=timedelta(days=40), node="node-retention")
    _, young_key, _ = await recorded_call(pool, store, age=timedelta(days=5), node="node-retention")
    assert await RecordingUploader(RecordingUploads(pool, node="node-retention"), store).run_once() == 2
    assert all(s3_server.head(k) and (tmp_path / k).is_file() for k in (old_key, young_key))
    retention = RecordingRetention(RecordingLedger(pool), store, timedelta(days=30))

    s3_server.stop()  # the store down: nothing is deleted, and the row still says where the recording is
    assert await retention.run_once() == 0
    assert (tmp_path / old_key).is_file()
    s3_server.start(create_bucket=False)  # moto forgot the objects; put the old one back as AWS would keep it
    s3_server.client().create_bucket(Bucket=s3_server.bucket)
    store.upload(old_key)

    assert await retention.run_once() == 1
    assert s3_server.head(old_key) is None and not (tmp_path / old_key).exists()
    assert (tmp_path / young_key).is_file()
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT recording_path, recording_deleted_at IS NOT NULL FROM call_attempts "
                                 "WHERE id = %s", (old,))
        assert await cur.fetchone() == (None, True)
