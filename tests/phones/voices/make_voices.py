"""Render the lab phone's recorded lines: ``python -m tests.phones.voices.make_voices`` (needs Kokoro).

Only lines without a WAV yet are rendered; name lines on the command line to re-render just those.

Most lab lines are espeak-ng, rendered at test time. A few are not carried by espeak to Whisper base
at all, whatever the speed or voice: "a las cuatro (de la tarde)" came back as "al aguato", "a la cuato
de la carne", "al ascoato" in 9 of 16 offline decodes (4 start cuts x 2 lead silences x both STT
windows, through G.711), and failed a clean-clone CI run twice. Those lines are spoken here by a
neural voice (Kokoro-82M, the ``jm_kumo`` style, as ``bench/speech_set`` makes its set; 0 of the same
16 decodes wrong) and committed as 8 kHz WAVs, so the tests need neither Kokoro nor luck.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.speech_set.make_set import _kokoro, telephone
from media.audio import write_wav

HERE = Path(__file__).resolve().parent
STYLE = "jm_kumo"
LEVEL_DBFS = -20.0  # the middle of the set's -28..-16 dBFS
LINES = {
    "callback_friday_four.wav": "Estoy en el trabajo, llámeme el viernes a las cuatro de la tarde.",
    # espeak's "diciembre" came back "de mi siente" in a clean-clone CI run (2026-12-03).
    "promise_fifteenth_december.wav": "Le puedo pagar cincuenta mil pesos el quince de diciembre.",
    # espeak's "Mándeme el enlace de pago por mensaje." came back "Mán de Melinda que me pago por mentir."
    "payment_link_whatsapp.wav": "Envíeme el link para pagar por WhatsApp.",
    # A sales call's lead (tests/integration/test_sales_call.py)
    "sales_interested_how_much.wav": "Sí, me interesa. ¿Cuánto me pueden prestar?",
    "sales_already_have_credit.wav": "Ya tengo un crédito con otro banco.",
    "sales_call_me_executive.wav": "Está bien, que me llame un ejecutivo.",
}


def main(argv: list[str] | None = None) -> None:
    """Render the lines not yet on disk, or only those named (``make_voices NAME.wav ...``, re-rendered)."""
    names = sys.argv[1:] if argv is None else argv
    unknown = [n for n in names if n not in LINES]
    if unknown:
        raise SystemExit(f"not in LINES: {', '.join(unknown)}")
    # Committed WAVs are kept byte for byte: a newer onnxruntime/espeak-ng need not render them the same.
    todo = names or [n for n in LINES if not (HERE / n).exists()]
    for name in todo:
        text = LINES[name]
        clip = telephone(_kokoro(text, STYLE, "es-419", 1.0, "CL"), LEVEL_DBFS, (0.0, 0.0))
        write_wav(HERE / name, clip)
        print(f"{name}: {len(clip.pcm) / clip.sample_rate:.2f} s  {text}")


if __name__ == "__main__":
    main()
