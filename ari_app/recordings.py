"""The process's recording store, built once from the settings (RECORDINGS_STORE and RECORDINGS_S3_*).

The same store records the calls, serves the API and the dashboard's player, feeds the re-processor
and is swept by the retention; with an object store, the uploader worker copies each ended call's
recording there (campaigns/recording_uploads.py). docs/recordings.md is the operator's side.
"""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from ari_app.settings import Settings
from campaigns.recording_uploads import RecordingUploader, RecordingUploads
from media.recordings import LocalRecordingStore, RecordingStore

__all__ = ["recording_store", "recording_uploader"]


def recording_store(settings: Settings) -> RecordingStore:
    """RECORDINGS_DIR alone (local), or RECORDINGS_DIR first and the bucket after (s3, both)."""
    local = LocalRecordingStore(settings.recordings_path)
    if settings.recordings_store == "local":
        return local
    from media.s3_recordings import S3RecordingStore, s3_client  # boto3 is imported only when it is used

    client = s3_client(endpoint_url=settings.recordings_s3_endpoint_url, region=settings.recordings_s3_region,
                       access_key_id=settings.recordings_s3_access_key_id,
                       secret_access_key=settings.recordings_s3_secret_access_key.get_secret_value())
    return S3RecordingStore(local, client, settings.recordings_s3_bucket, prefix=settings.recordings_s3_prefix,
                            sse=None if settings.recordings_s3_sse == "off" else settings.recordings_s3_sse,
                            keep_local=settings.recordings_store == "both")


def recording_uploader(pool: AsyncConnectionPool, store: RecordingStore, node: str | None) -> RecordingUploader | None:
    """The worker that copies this node's recordings to the object store; None when there is none."""
    return RecordingUploader(RecordingUploads(pool, node=node), store) if store.uploads else None
