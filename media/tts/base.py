"""What every TTS engine is to the rest of the pipeline: the protocol, its error, the phrase cache."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

from media.audio import AudioClip

__all__ = ["PhraseCache", "TtsEngine", "TtsError"]


class TtsError(RuntimeError):
    """Synthesis could not produce audio (no voice, engine stuck, ...)."""


@runtime_checkable
class TtsEngine(Protocol):
    """Anything that turns text into a clip; ``name`` identifies it in logs and metrics."""

    name: str

    async def synthesize(self, text: str) -> AudioClip: ...


class PhraseCache:
    """A small LRU of synthesised clips: fixed phrases (greeting, legal notice) are spoken often."""

    def __init__(self, size: int = 32) -> None:
        if size < 0:
            raise ValueError(f"cache size must be >= 0, got {size}")
        self.size = size
        self._clips: OrderedDict[tuple[Any, ...], AudioClip] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> AudioClip | None:
        clip = self._clips.get(key)
        if clip is None:
            self.misses += 1
            return None
        self._clips.move_to_end(key)
        self.hits += 1
        return clip

    def put(self, key: tuple[Any, ...], clip: AudioClip) -> None:
        if self.size == 0:
            return
        self._clips[key] = clip
        self._clips.move_to_end(key)
        while len(self._clips) > self.size:
            self._clips.popitem(last=False)

    def clear(self) -> None:
        self._clips.clear()
