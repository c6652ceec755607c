"""POST /api/v1/calls/{id}/reprocess through the real API, with a real re-processor behind it: the
token is required, the answer is 202 with the queued job, and the call's detail then shows both
transcript versions and the version its analysis read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from analysis import load_classification
from analysis.store import AnalysisStore
from analysis.worker import AnalysisWorker
from api import ApiServices, OperatorApi
from ari_app.reprocess import BUNDLED, Reprocessor
from campaigns.transcripts import TranscriptVersions
from campaigns.webhooks import WebhookDelivery
from media.recordings import LocalRecordingStore
from tests.api.conftest import TOKEN, Client
from tests.api.test_calls_api import answered_call
from tests.campaigns.test_reprocess import a_day, recorded_call, speech, stt  # noqa: F401 (fixtures)


@pytest.fixture
async def reprocessing_api(db_pool, recordings_dir: Path, stt) -> AsyncIterator[Client]:  # noqa: F811
    recordings = LocalRecordingStore(recordings_dir)
    async with WebhookDelivery(db_pool, timeout_s=2.0) as delivery, \
            AnalysisWorker(AnalysisStore(db_pool), load_classification("")) as analysis, \
            Reprocessor(TranscriptVersions(db_pool), recordings, stt, analysis, model=BUNDLED, beam=5,
                        live_model=BUNDLED, poll_s=0.5) as reprocessor:
        services = ApiServices(pool=db_pool, webhook_delivery=delivery, recordings=recordings,
                               ari_connected=lambda: True, currency="CLP", reprocessor=reprocessor)
        async with OperatorApi(services, tokens=[TOKEN], host="127.0.0.1", port=0) as server, \
                aiohttp.ClientSession() as session:
            yield Client(session, server.url)


async def test_reprocess_needs_the_token_answers_202_and_the_detail_shows_the_versions(
        reprocessing_api, db_pool, recordings_dir, speech):  # noqa: F811
    api = reprocessing_api
    call = await recorded_call(db_pool, recordings_dir, speech, confidence=0.3, created_at=a_day(11))

    status, body, _ = await api.post(f"/api/v1/calls/{call}/reprocess", token=None)
    assert status == 401
    status, body, _ = await api.post(f"/api/v1/calls/{call}/reprocess", token="not-the-token")
    assert status == 401
    status, body, _ = await api.post(f"/api/v1/calls/{uuid.uuid4()}/reprocess")
    assert status == 404

    status, body, _ = await api.post(f"/api/v1/calls/{call}/reprocess")
    assert status == 202, body
    assert body["job"]["attempt_id"] == str(call) and body["job"]["status"] in ("queued", "running")
    assert body["job"]["requested_by"] == "api"

    detail: dict = {}
    async with asyncio.timeout(90):
        while True:
            status, detail, _ = await api.get(f"/api/v1/calls/{call}")
            assert status == 200
            if detail["reprocessing"]["status"] in ("done", "failed"):
                break
            await asyncio.sleep(0.3)
    assert detail["reprocessing"]["status"] == "done", detail["reprocessing"]
    versions = {v["version"]: v for v in detail["transcript_versions"]}
    assert set(versions) == {"live", "offline"}
    assert (versions["offline"]["model"], versions["offline"]["beam"]) == (BUNDLED, 5)
    assert versions["live"]["beam"] == 1 and versions["live"]["mean_confidence"] == pytest.approx(0.3, abs=1e-3)
    assert [line["speaker"] for line in versions["offline"]["lines"]] == ["agent", "caller", "agent", "caller"]
    assert detail["analysis"]["status"] == "done" and detail["analysis"]["transcript_version"] == "offline"


async def test_a_call_never_recorded_cannot_be_reprocessed(reprocessing_api, db_pool):
    call = await answered_call(db_pool)  # no recording
    status, body, _ = await reprocessing_api.post(f"/api/v1/calls/{call}/reprocess")
    assert status == 409 and "not recorded" in body["error"]["message"]
