"""Speech to text: the protocol and its result (`base`), offline Whisper (`whisper`, its bundled model in
`model_files`), and the correction stage every transcript passes through before anything reads it
(`correct`: `steps`, `numbers`, with a call's `vocabulary`)."""

from media.stt.base import UNCLEAR_AMOUNT, SttEngine, SttModelError, Transcript, Word
from media.stt.correct import CorrectedStt, TranscriptCorrection, correction_steps
from media.stt.model_files import locate_bundled_whisper_base
from media.stt.vocabulary import CallVocabulary, OperatorCorrections, load_corrections
from media.stt.whisper import COLLECTIONS_PROMPT, WhisperStt

__all__ = ["COLLECTIONS_PROMPT", "UNCLEAR_AMOUNT", "CallVocabulary", "CorrectedStt", "OperatorCorrections",
           "SttEngine", "SttModelError", "Transcript", "TranscriptCorrection", "WhisperStt", "Word",
           "correction_steps", "load_corrections", "locate_bundled_whisper_base"]
