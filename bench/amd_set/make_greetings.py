"""Render the greetings the AMD bench plays: ``python -m bench.amd_set.make_greetings`` (needs Kokoro).

How people answer a phone in Chile, Argentina and Colombia ("¿Aló?", "Aló, ¿sí?", "¿Diga?", "¿Bueno?",
"Aló, buenas tardes", "Sí, ¿quién habla?"), and voicemail greetings (a person's own, the carrier's),
each ending with the beep after which a message is recorded. Two neural voices (Kokoro-82M styles
``jm_kumo`` and ``jf_alpha``, fed Spanish phonemes, as bench/speech_set) and espeak-ng as a third,
through the telephone (8 kHz, -20 dBFS active level, G.711 round trip), committed as WAVs so the bench
is reproducible without Kokoro. A file's name says what it is: ``person-*`` or ``machine-*``.
"""

from __future__ import annotations

import numpy as np

from bench.amd_set import GREETINGS
from bench.speech_set.make_set import _espeak, _kokoro, telephone
from media.audio import AudioClip, write_wav

LEVEL_DBFS = -20.0
PEOPLE = {
    "alo": "¿Aló?",
    "alo-si": "Aló, ¿sí?",
    "diga": "¿Diga?",
    "bueno": "¿Bueno?",
    "alo-buenas-tardes": "Aló, buenas tardes.",
    "quien-habla": "Sí, ¿quién habla?",
}
MACHINES = {
    "juan": "Hola, has llamado a Juan. En este momento no puedo contestar, deja tu mensaje después del tono.",
    "maria": "Hola, soy María. No te puedo atender ahora, déjame un mensaje y te llamo.",
    "buzon": "Bienvenido al buzón de voz. La persona que usted llama no está disponible. "
             "Por favor, deje su mensaje después de la señal.",
    "numero": "El número que usted marcó no se encuentra disponible. Deje su mensaje después del tono.",
}
PEOPLE_VOICES = ("kumo", "alpha", "espeak")
MACHINE_VOICES = ("alpha", "espeak")


def _voice(text: str, voice: str) -> AudioClip:
    if voice == "espeak":
        return _espeak(text, "es-419", 50)
    return _kokoro(text, f"j{'m' if voice == 'kumo' else 'f'}_{voice}", "es-419", 1.0, "CL")


def _beep(rate: int = 8000) -> np.ndarray:
    """The voicemail's tone: 0.6 s of 1 kHz after 0.4 s of quiet, as carriers' mailboxes do."""
    t = np.arange(round(0.6 * rate)) / rate
    return np.concatenate([np.zeros(round(0.4 * rate)), 8000 * np.sin(2 * np.pi * 1000 * t)]).astype(np.int16)


def main() -> None:
    for kind, lines, voices in (("person", PEOPLE, PEOPLE_VOICES), ("machine", MACHINES, MACHINE_VOICES)):
        for name, text in lines.items():
            for voice in voices:
                clip = telephone(_voice(text, voice), LEVEL_DBFS, (0.0, 0.0))
                if kind == "machine":
                    clip = AudioClip(np.concatenate([clip.pcm, _beep(clip.sample_rate)]), clip.sample_rate)
                path = GREETINGS / f"{kind}-{name}-{voice}.wav"
                write_wav(path, clip)
                print(f"{path.name}: {clip.duration_s:.2f} s  {text}")


if __name__ == "__main__":
    main()
