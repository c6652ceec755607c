"""Where call recordings are kept: one interface, a local directory today (S3 or the like later).

A store hands out one `RecordingFile` per call, which the recorder appends to in pieces while the
call goes on. Every method here blocks (disk, later network): they are called from a worker thread,
never from the event loop. Keys are relative paths, ``YYYY/MM/DD/<attempt id>.wav`` (the call's UTC
day), and they are what the database keeps: the store's root can move, or become a bucket, without
rewriting a row. A store for object storage would spool to a local file and upload it on `close`.

The local file is a valid WAV after every append (the header's sizes are rewritten each time), so a
process killed mid-call leaves a playable recording of everything written until then.
"""

from __future__ import annotations

import struct
import uuid
from datetime import date
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

__all__ = ["LocalRecordingStore", "RecordingFile", "RecordingStore", "WavAppender", "recording_key"]


class RecordingFile(Protocol):
    def append(self, frames: bytes) -> None:
        """Interleaved 16-bit little-endian PCM frames, appended at the end."""

    def close(self) -> None: ...


class RecordingStore(Protocol):
    def open(self, key: str, *, channels: int, sample_rate: int) -> RecordingFile: ...

    def delete(self, key: str) -> None:
        """Remove the recording of `key`; one already gone is not an error (a sweep may run twice)."""


def recording_key(call_id: uuid.UUID | str, day: date) -> str:
    return f"{day:%Y/%m/%d}/{call_id}.wav"


class LocalRecordingStore:
    """Recordings as WAV files under `root`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

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
