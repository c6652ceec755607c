"""Speech to text: the protocol and its result (`base`), offline Whisper (`whisper`), and the
correction stage every transcript passes through before anything reads it (`correct`)."""

from media.stt.base import SttEngine, SttModelError, Transcript
from media.stt.correct import CorrectedStt, TranscriptCorrection
from media.stt.whisper import COLLECTIONS_PROMPT, WhisperStt, locate_bundled_whisper_base

__all__ = ["COLLECTIONS_PROMPT", "CorrectedStt", "SttEngine", "SttModelError", "Transcript",
           "TranscriptCorrection", "WhisperStt", "locate_bundled_whisper_base"]
