"""What a human agent's desk phone shows of a transferred caller, and the human leg's recording kept."""

from __future__ import annotations

import io
import uuid
import wave
from datetime import UTC, datetime

import numpy as np

from ari_app.calls.human_leg import DESK_NAME_CHARS, _store_wav, desk_caller_name, human_leg_key
from campaigns.debtors import DebtorCard
from media.recordings import LocalRecordingStore


def card(name: str = "María José Pérez", amount: int | None = 104_050, installments: int | None = 3) -> DebtorCard:
    return DebtorCard(debtor_id=7, full_name=name, company="Natura", timezone="America/Santiago",
                      delinquency_type="temprana", flow=None, amount_owed=amount, installments_owed=installments)


def test_the_desk_phone_shows_the_name_the_debt_and_the_instalments():
    assert desk_caller_name(card()) == "María José Pérez, debe 104.050, 3 cuotas"
    assert desk_caller_name(card(amount=1_250_000, installments=1)) == "María José Pérez, debe 1.250.000"
    assert desk_caller_name(card(amount=None, installments=None)) == "María José Pérez"


def test_a_long_line_is_cut_to_what_desk_phones_show_and_carries_no_quotes():
    shown = desk_caller_name(card(name='Juan "Chico" Alberto Fernández de la Barra Errázuriz'))
    assert shown == "Juan Chico Alberto Fernández de la Barra"[:DESK_NAME_CHARS]
    assert desk_caller_name(card(name="Ana Li", amount=5_000, installments=2)) == "Ana Li, debe 5.000, 2 cuotas"


def test_an_unknown_caller_is_shown_as_a_client():
    assert desk_caller_name(None) == "Cliente"


def test_the_human_legs_recording_is_kept_beside_the_calls_own(tmp_path):
    attempt = uuid.uuid4()
    key = human_leg_key(attempt, datetime(2026, 12, 3, 18, 0, tzinfo=UTC))
    assert key == f"2026/12/03/{attempt}-human.wav"
    tone = (3000 * np.sin(2 * np.pi * 440 * np.arange(8000 * 2) / 8000)).astype("<i2")
    data = io.BytesIO()
    with wave.open(data, "wb") as w:  # as MixMonitor writes it: 8 kHz mono 16-bit
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(tone.tobytes())
    store = LocalRecordingStore(tmp_path)
    assert _store_wav(store, key, data.getvalue()) == 2000
    with wave.open(str(tmp_path / key), "rb") as w:
        assert (w.getframerate(), w.getnchannels()) == (8000, 1)
        assert np.array_equal(np.frombuffer(w.readframes(w.getnframes()), "<i2"), tone)


def test_an_empty_human_leg_is_not_kept(tmp_path):
    # Nobody answered: MixMonitor (recording only while bridged) leaves a header and no audio.
    data = io.BytesIO()
    with wave.open(data, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
    store = LocalRecordingStore(tmp_path)
    assert _store_wav(store, "2026/12/03/x-human.wav", data.getvalue()) == 0
    assert not (tmp_path / "2026").exists()
