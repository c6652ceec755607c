"""Real test phones for the lab (see asterisk/README.md): sipp as the carrier, baresip as a
softphone or the debtor's phone, and espeak-ng/sox test audio. They use `media` for WAV reading and speech detection."""

from ._proc import PhoneError
from .audio import make_silence_wav, make_spanish_wav, to_phone_wav
from .baresip import BaresipError, BaresipPhone, BaresipResult
from .sipp import SCENARIOS, SippCarrier, SippError

__all__ = [
    "SCENARIOS",
    "BaresipError",
    "BaresipPhone",
    "BaresipResult",
    "PhoneError",
    "SippCarrier",
    "SippError",
    "make_silence_wav",
    "make_spanish_wav",
    "to_phone_wav",
]
