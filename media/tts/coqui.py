"""Coqui TTS (neural voices) behind the same :class:`~media.tts.TtsEngine` protocol as espeak.

Optional: ``pip install 'asterisk-ai-callcenter[coqui]'`` installs ``coqui-tts``, the maintained
fork of Coqui's ``TTS`` package (same ``TTS`` import name; the original stopped at 0.22.0 when
the company closed). It needs torch, which is why it is not in the default install.

The model is never downloaded at run time: a call center runs on a closed network, and a model
fetched on the first call would stall that call for minutes. ``model_dir`` must hold a Coqui
model as ``tts`` exports it: ``config.json`` plus the weights (``model.pth``, ``model_file.pth``
or ``best_model.pth``), optionally ``speakers.pth``/``speaker_ids.json``. Anything missing is a
:class:`~media.tts.TtsError` at :meth:`CoquiTts.start` that says what and where, not a stack trace
on the first call. Synthesis runs on one worker thread (torch uses its own intra-op threads);
fixed phrases come from a :class:`~media.tts.PhraseCache`.
"""

from __future__ import annotations

import asyncio
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

import numpy as np

from media.audio import AudioClip
from media.tts.base import PhraseCache, TtsError

__all__ = ["CoquiTts", "coqui_model_files"]

_WEIGHTS = ("model.pth", "model_file.pth", "best_model.pth", "checkpoint.pth")
INSTALL_HINT = "pip install 'asterisk-ai-callcenter[coqui]' (or: pip install coqui-tts)"


def coqui_model_files(model_dir: Path) -> tuple[Path, Path]:
    """``(weights, config.json)`` of the model in ``model_dir``, or a TtsError naming what is missing."""
    if not model_dir.is_dir():
        raise TtsError(f"Coqui TTS model directory {model_dir} does not exist (set TTS_MODEL_PATH to a "
                       "directory with config.json and model.pth, exported by Coqui's `tts` tool)")
    config = model_dir / "config.json"
    weights = next((model_dir / name for name in _WEIGHTS if (model_dir / name).is_file()), None)
    missing = [str(p) for p, ok in ((config, config.is_file()),
                                    (model_dir / _WEIGHTS[0], weights is not None)) if not ok]
    if missing:
        raise TtsError(f"Coqui TTS model in {model_dir} is incomplete: missing {', '.join(missing)} "
                       f"(weights may be any of {', '.join(_WEIGHTS)})")
    assert weights is not None
    return weights, config


class CoquiTts:
    """``async with CoquiTts(model_dir) as tts: clip = await tts.synthesize("Hola.")``."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        device: str = "cpu",
        speaker: str | None = None,
        language: str | None = None,
        cache_size: int = 32,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.speaker = speaker
        self.language = language
        self.cache = PhraseCache(cache_size)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coqui-tts")
        self._model: Any = None
        self._sample_rate = 0
        self._start_lock = asyncio.Lock()
        self._closed = False

    @property
    def name(self) -> str:
        return f"coqui:{self.model_dir.name}"

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Check the model and the package, then load it on the worker thread (idempotent)."""
        async with self._start_lock:
            if self._closed:
                raise TtsError("CoquiTts is closed")
            if self._model is None:
                weights, config = coqui_model_files(self.model_dir)  # cheap: fail before importing torch
                if importlib.util.find_spec("TTS") is None:
                    raise TtsError(f"TTS_ENGINE=coqui needs the Coqui TTS package: {INSTALL_HINT}")
                loop = asyncio.get_running_loop()
                self._model = await loop.run_in_executor(self._executor, self._load, weights, config)

    def _load(self, weights: Path, config: Path) -> Any:
        from TTS.api import TTS

        try:
            model = TTS(model_path=str(weights), config_path=str(config), progress_bar=False).to(self.device)
        except Exception as exc:  # torch/config errors come in many types; all mean "cannot load"
            raise TtsError(f"cannot load Coqui TTS model from {self.model_dir}: {exc}") from exc
        self._sample_rate = int(model.synthesizer.output_sample_rate)
        return model

    async def synthesize(self, text: str) -> AudioClip:
        if self._closed:
            raise TtsError("CoquiTts is closed")
        text = " ".join(text.split())
        if not text:
            return AudioClip.silence(0.0, self._sample_rate or 22050)
        await self.start()
        key = (text, self.speaker, self.language)
        if (cached := self.cache.get(key)) is not None:
            return cached
        clip = await asyncio.get_running_loop().run_in_executor(self._executor, self._synthesize, text)
        self.cache.put(key, clip)
        return clip

    def _synthesize(self, text: str) -> AudioClip:
        samples = np.asarray(self._model.tts(text=text, speaker=self.speaker, language=self.language),
                             dtype=np.float32)
        if samples.size == 0:
            raise TtsError(f"Coqui TTS produced no audio for {text[:40]!r}")
        pcm = np.clip(samples * 32767.0, -32768, 32767).astype(np.int16)
        return AudioClip(pcm, self._sample_rate)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.cache.clear()
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
        self._model = None
