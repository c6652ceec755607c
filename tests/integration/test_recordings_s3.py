"""A call through the real Asterisk with RECORDINGS_STORE=s3: the app records it on its disk, its own
uploader copies the recording to a real S3-protocol server (moto, its own process), the local copy goes
once the upload is verified, and the API, and the dashboard's player in headless Chromium, still play it."""

from __future__ import annotations

import asyncio

import aiohttp

from ari_app.app import CallCenterApp
from ari_app.settings import LAB_API_TOKEN
from campaigns.calls import CallLog
from tests.integration.conftest import app_settings, assert_not_silent, finished
from tests.integration.test_dashboard import _look
from tests.phones.sipp import SippCarrier
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server


async def test_a_call_recorded_with_the_store_in_s3_lands_in_the_bucket_and_plays(database_url, s3_server: S3Server,
                                                                                  tmp_path):
    recordings = tmp_path / "recordings"
    settings = app_settings(database_url, RECORDINGS_STORE="s3", RECORDINGS_DIR=str(recordings),
                            RECORDINGS_S3_BUCKET=s3_server.bucket, RECORDINGS_S3_PREFIX="calls",
                            RECORDINGS_S3_ENDPOINT_URL=s3_server.url, RECORDINGS_S3_REGION=REGION,
                            RECORDINGS_S3_ACCESS_KEY_ID=ACCESS_KEY, RECORDINGS_S3_SECRET_ACCESS_KEY=SECRET_KEY)
    async with CallCenterApp(settings) as app:
        await app.wait_ready()
        with SippCarrier("answer"):
            call = await finished(app.dialer.dial("5551234"))
        assert_not_silent(call, await app.call_log.events(call.attempt_id))
        async with app.pool.connection() as conn:
            cur = await conn.execute("SELECT recording_path, node FROM call_attempts WHERE id = %s", (call.attempt_id,))
            key, node = await cur.fetchone()
        assert key is not None and node == app.node

        uploaded = None
        for _ in range(100):  # the uploader polls every 5 s
            async with app.pool.connection() as conn:
                cur = await conn.execute("SELECT recording_uploaded_at FROM call_attempts WHERE id = %s",
                                         (call.attempt_id,))
                (uploaded,) = await cur.fetchone()
            if uploaded is not None:
                break
            await asyncio.sleep(0.2)
        assert uploaded is not None, "the recording was not uploaded"
        head = s3_server.head(key)
        assert head is not None and head["ContentLength"] > 44  # a WAV header and audio
        assert not (recordings / key).exists()

        async with aiohttp.ClientSession() as session, session.get(
                f"{app.api.url}/api/v1/calls/{call.attempt_id}/recording",
                headers={"Authorization": f"Bearer {LAB_API_TOKEN}"}) as resp:
            wav = await resp.read()
        assert resp.status == 200 and wav[:4] == b"RIFF" and len(wav) == head["ContentLength"]

        lines = await CallLog(app.pool).lines(call.attempt_id)
        seen = await asyncio.to_thread(_look, app.api.url, str(call.attempt_id), len(lines))
    assert str(seen["audio_src"]).startswith("blob:"), seen  # the player fetched it, with the token, from S3
    assert not seen["console_errors"], seen["console_errors"]
