"""Where call recordings are kept: one interface, a local directory and, optionally, an object store.

A store hands out one `RecordingFile` per call, which the recorder appends to in pieces while the
call goes on. Every method here blocks (disk, network): they are called from a worker thread,
never from the event loop. Keys are relative paths, ``YYYY/MM/DD/<attempt id>.wav`` (the call's UTC
day), and they are what the database keeps: the store's root can move, or become a bucket, without
rewriting a row. Every store writes the local file first; one backed by object storage
(`media.s3_recordings`) copies it there afterwards (`upload`, driven by a durable queue that is
not this module's business), so an outage of the object store never costs a recording.

The local file is a valid WAV after every append (the header's sizes are rewritten each time), so a
process killed mid-call leaves a playable recording of everything written until then.
"""

from __future__ import annotations

import contextlib
import shutil
import struct
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

__all__ = ["LocalRecordingStore", "RecordingFile", "RecordingStore", "RecordingStoreUnavailable", "RemoteRecording",
           "WavAppender", "readable_recording", "recording_key"]


class RecordingStoreUnavailable(OSError):
    """The remote store could not be reached or refused the request (an OSError: the callers that
    survive a full disk survive this the same way, and try again later)."""


class RecordingFile(Protocol):
    def append(self, frames: bytes) -> None:
        """Interleaved 16-bit little-endian PCM frames, appended at the end."""

    def close(self) -> None: ...


class RemoteRecording(Protocol):
    """A recording's bytes as the remote store sends them (all of them, or the range asked for)."""

    size: int  # bytes in this body
    total: int  # bytes in the whole recording
    content_range: str | None  # "bytes a-b/total" when a range was asked for

    def read(self, amount: int) -> bytes: ...

    def close(self) -> None: ...


class RecordingStore(Protocol):
    uploads: bool  # whether recordings are copied to a remote store (by `upload`, from a queue)

    def open(self, key: str, *, channels: int, sample_rate: int) -> RecordingFile:
        """A new recording, always written to the local disk first."""

    def delete(self, key: str) -> None:
        """Remove every copy of `key`; one already gone is not an error (a sweep may run twice)."""

    def local_file(self, key: str) -> Path | None:
        """The local copy of `key`, when this host has one."""

    def fetch(self, key: str, byte_range: str | None = None) -> RemoteRecording | None:
        """The remote copy's bytes (`byte_range` as HTTP writes it: "bytes=0-99"), None when there is none."""

    def upload(self, key: str) -> None:
        """Copy the local file to the remote store and check it arrived whole; raises when it did not."""

    def uploaded(self, key: str) -> None:
        """The upload of `key` is on record: drop the local copy if this store keeps only the remote one."""


@contextlib.contextmanager
def readable_recording(store: RecordingStore, key: str) -> Iterator[Path]:
    """A local file of `key` to read: the local copy, or the remote one downloaded to a temporary
    file for as long as the block lasts. FileNotFoundError when neither exists."""
    if (local := store.local_file(key)) is not None:
        yield local
        return
    body = store.fetch(key)
    if body is None:
        raise FileNotFoundError(f"recording {key} is neither on this host nor in the remote store")
    try:
        with tempfile.NamedTemporaryFile(suffix=".wav") as copy:
            shutil.copyfileobj(body, copy, 1 << 20)  # type: ignore[misc]  # `read` is all copyfileobj uses
            copy.flush()
            yield Path(copy.name)
    finally:
        body.close()


def recording_key(call_id: uuid.UUID | str, day: date) -> str:
    return f"{day:%Y/%m/%d}/{call_id}.wav"


class LocalRecordingStore:
    """Recordings as WAV files under `root`, and nowhere else (RECORDINGS_STORE=local)."""

    uploads = False

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    def local_file(self, key: str) -> Path | None:
        try:
            path = self.path(key)
        except ValueError:  # a key that would leave the root: never read
            return None
        return path if path.is_file() else None

    def fetch(self, key: str, byte_range: str | None = None) -> RemoteRecording | None:
        return None

    def upload(self, key: str) -> None:
        raise NotImplementedError("a local store has nowhere to upload to")

    def uploaded(self, key: str) -> None:
        pass

    def path(self, key: str) -> Path:
        """The file of `key`; a key that would leave the root (absolute, '..') is refused."""
        relative = PurePosixPath(key)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"not a recording key: {key!r}")
        return self.root.joinpath(*relative.parts)

    def open(self, key: str, *, channels: int, sample_rate: int) -> WavAppender:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return WavAppender(path.open("wb"), channels=channels, sample_rate=sample_rate)

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        for folder in path.parents:  # the day's, month's and year's folders once they are empty
            if folder == self.root or self.root not in folder.parents:
                break
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone): the folders above are not empty either
                break


class WavAppender:
    """A 16-bit PCM WAV being written: valid (header sizes up to date) after every append."""

    def __init__(self, file: BinaryIO, *, channels: int, sample_rate: int) -> None:
        self._file = file
        self._block = 2 * channels
        self._data_bytes = 0
        file.write(b"RIFF" + struct.pack("<I", 36) + b"WAVE")
        file.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate,
                                         sample_rate * self._block, self._block, 16))
        file.write(b"data" + struct.pack("<I", 0))
        file.flush()

    def append(self, frames: bytes) -> None:
        if len(frames) % self._block:
            raise ValueError(f"{len(frames)} bytes is not a whole number of {self._block}-byte frames")
        if not frames:
            return
        self._file.write(frames)
        self._data_bytes += len(frames)
        self._file.seek(4)
        self._file.write(struct.pack("<I", 36 + self._data_bytes))
        self._file.seek(40)
        self._file.write(struct.pack("<I", self._data_bytes))
        self._file.seek(0, 2)
        self._file.flush()

    def close(self) -> None:
        self._file.close()
