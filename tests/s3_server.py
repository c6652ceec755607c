"""A real S3-protocol server for tests: moto's server mode, a separate process on a loopback port.

The store under test talks HTTP to it exactly as it would to AWS or MinIO. `stop` kills the process
(an outage: connections refused) and `start` brings a fresh one back on the same port; moto keeps
its buckets in memory, so whoever restarts it creates the bucket again, as an operator whose store
came back would find it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from media.recordings import LocalRecordingStore
from media.s3_recordings import S3RecordingStore, s3_client

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3Server:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.bucket = f"recordings-{uuid.uuid4().hex[:12]}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, create_bucket: bool = True) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on port {self.port}") from None
                time.sleep(0.1)
        if create_bucket:
            self.client().create_bucket(Bucket=self.bucket)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def client(self) -> Any:
        return s3_client(endpoint_url=self.url, region=REGION, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)

    def store(self, root: Path, *, keep_local: bool = False, sse: str | None = None,
              prefix: str = "calls") -> S3RecordingStore:
        return S3RecordingStore(LocalRecordingStore(root), self.client(), self.bucket, prefix=prefix, sse=sse,
                                keep_local=keep_local)

    def head(self, key: str, prefix: str = "calls") -> dict[str, Any] | None:
        """The object's HEAD as the server answers it, None when there is no such object."""
        client = self.client()
        try:
            return dict(client.head_object(Bucket=self.bucket, Key=f"{prefix}/{key}"))
        except client.exceptions.ClientError:
            return None
