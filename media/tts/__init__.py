"""Text to speech: one protocol (`base`), the espeak-ng engine in a worker process (`espeak`, the
blocking side in `espeak_worker`), and Coqui (`coqui`, an optional extra). A new engine is one module
here that implements `TtsEngine`, plus a line in `ari_app.calls.dialogue.make_tts`."""

from media.tts.base import PhraseCache, TtsEngine, TtsError
from media.tts.espeak import EspeakTts

__all__ = ["EspeakTts", "PhraseCache", "TtsEngine", "TtsError"]
