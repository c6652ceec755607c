"""Recordings kept in an S3-compatible object store (AWS S3, MinIO, Ceph...), written locally first.

The recorder writes the local file as it does without S3 (`LocalRecordingStore`: a valid WAV after
every append); once the call is over, `upload` copies it to ``s3://bucket/prefix/<key>`` and checks
the object's size with a HEAD. Who calls `upload`, and when again after a failure, is a durable
queue's business (`campaigns.recording_uploads`); this module only moves bytes. With
``keep_local=False`` (RECORDINGS_STORE=s3) the local copy is deleted once the upload is on record,
never before; with ``keep_local=True`` (RECORDINGS_STORE=both) it stays.

The client is boto3, which blocks: like every `RecordingStore` method, these run in worker threads
(the recorder's executor, `asyncio.to_thread`), never on the event loop. boto3 rather than
aiobotocore because the store's interface is a blocking one already (the local disk is, too), and
aiobotocore pins exact botocore releases, which fights every other package that needs botocore.
Every failure of the remote store comes out as `RecordingStoreUnavailable` (an OSError), which the
callers already treat as "try again later".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media.recordings import LocalRecordingStore, RecordingFile, RecordingStoreUnavailable

__all__ = ["S3RecordingStore", "s3_client"]

SSE_MODES = ("AES256", "aws:kms")
_MISSING = {"404", "NoSuchKey", "NotFound"}


def s3_client(*, endpoint_url: str = "", region: str = "", access_key_id: str = "", secret_access_key: str = "",
              ) -> Any:
    """An S3 client; empty credentials: boto3's own chain (AWS_* variables, a profile, the instance role).
    Short timeouts and few retries: a failed upload is retried by the queue, not inside one call."""
    config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
                    s3={"addressing_style": "path"} if endpoint_url else None)
    return boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                        aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None,
                        config=config)


@contextlib.contextmanager
def _remote(doing: str) -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise RecordingStoreUnavailable(f"object store: {doing}: {exc}") from exc


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3Body:
    """A GET's streaming body, with its sizes (the `RemoteRecording` the API streams)."""

    def __init__(self, response: dict[str, Any]) -> None:
        self._body = response["Body"]
        self.size = int(response["ContentLength"])
        self.content_range: str | None = response.get("ContentRange")
        self.total = int(self.content_range.rsplit("/", 1)[1]) if self.content_range else self.size

    def read(self, amount: int) -> bytes:
        with _remote("read"):
            return bytes(self._body.read(amount))

    def close(self) -> None:
        self._body.close()


class S3RecordingStore:
    uploads = True

    def __init__(self, local: LocalRecordingStore, client: Any, bucket: str, *, prefix: str = "",
                 sse: str | None = None, keep_local: bool = False) -> None:
        if sse is not None and sse not in SSE_MODES:
            raise ValueError(f"server-side encryption must be one of {SSE_MODES}, got {sse!r}")
        self.local = local
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.keep_local = keep_local
        self._client = client
        self._sse = sse

    def object_key(self, key: str) -> str:
        self.local.path(key)  # a key that would leave the store (absolute, '..') is refused here too
        return f"{self.prefix}/{key}" if self.prefix else key

    def open(self, key: str, *, channels: int, sample_rate: int) -> RecordingFile:
        return self.local.open(key, channels=channels, sample_rate=sample_rate)

    def local_file(self, key: str) -> Path | None:
        return self.local.local_file(key)

    def remote_size(self, key: str) -> int | None:
        """The object's size per a HEAD, None when there is no object."""
        with _remote(f"HEAD {key}"):
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=self.object_key(key))
            except ClientError as exc:
                if _missing(exc):
                    return None
                raise
        return int(head["ContentLength"])

    def upload(self, key: str) -> None:
        local = self.local.local_file(key)
        if local is None:
            # Uploaded before, and the local copy dropped, by a run that stopped before saying so.
            if self.remote_size(key) is not None:
                return
            raise FileNotFoundError(f"recording {key}: no local copy here and none in the bucket")
        size = local.stat().st_size
        extra = {"ContentType": "audio/wav"}
        if self._sse:
            extra["ServerSideEncryption"] = self._sse
        with _remote(f"upload {key}"):
            self._client.upload_file(str(local), self.bucket, self.object_key(key), ExtraArgs=extra)
        stored = self.remote_size(key)
        if stored != size:
            raise RecordingStoreUnavailable(f"object store: {key} holds {stored} bytes after the upload of {size}")

    def uploaded(self, key: str) -> None:
        if not self.keep_local:
            self.local.delete(key)

    def fetch(self, key: str, byte_range: str | None = None) -> S3Body | None:
        args = {"Bucket": self.bucket, "Key": self.object_key(key)}
        if byte_range:
            args["Range"] = byte_range
        with _remote(f"GET {key}"):
            try:
                return S3Body(self._client.get_object(**args))
            except ClientError as exc:
                if _missing(exc):
                    return None
                raise

    def delete(self, key: str) -> None:
        """The object first, then the local file: a failure leaves both, for the next sweep."""
        with _remote(f"DELETE {key}"):
            self._client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
        self.local.delete(key)
