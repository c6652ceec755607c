"""Debtors calling in: a softphone dials the collections line (800), keys a RUT and the last four digits
of its phone on file by DTMF, hears the notice, keys 1 to go ahead and hears its own debt; the record
says who called and how they were identified."""

from __future__ import annotations

import asyncio
import re

from ari_app.app import CallCenterApp
from media.audio import read_wav
from media.tts import EspeakTts
from media.vad import speech_segments
from tests.integration.conftest import app_settings, last_inbound_record, spoken_company
from tests.phones.baresip import BaresipPhone

RUT = "14567890-0"  # not in campaigns/samples: tests importing that file call those debtors


async def add_debtor(db_pool, national_id: str) -> int:
    company = spoken_company()
    async with db_pool.connection() as conn:
        await conn.execute("DELETE FROM debtors WHERE national_id = %s", (national_id,))
        cur = await conn.execute("INSERT INTO companies (name) VALUES (%s) RETURNING id", (company,))
        (company_id,) = await cur.fetchone()
        cur = await conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, timezone, delinquency_type, amount_owed,
                                    installments_owed, due_date)
               VALUES (%s, %s, 'Juan Soto', 'America/Santiago', 'temprana', 185000, 3, '2026-10-05')
               RETURNING id""", (company_id, national_id))
        (debtor_id,) = await cur.fetchone()
        # A phone that is not the softphone's: the caller must be identified by RUT, not by number.
        await conn.execute("INSERT INTO phones (debtor_id, e164, position) VALUES (%s, '+56955550001', 0)",
                           (debtor_id,))
    return debtor_id


async def test_a_caller_keys_their_rut_and_phone_digits_and_hears_their_own_debt(database_url, db_pool, tmp_path):
    debtor_id = await add_debtor(db_pool, RUT)
    settings = app_settings(database_url, AGENT_MODE="conversation", NO_INPUT_TIMEOUT_S=25)
    phone = BaresipPhone(workdir=tmp_path / "phone")  # silent: this caller only uses the keypad
    async with CallCenterApp(settings) as app:
        await app.wait_ready()
        phone.start_dial("sip:800@127.0.0.1", duration_s=50)
        await asyncio.to_thread(phone.wait_established)
        established = asyncio.get_running_loop().time()
        await asyncio.sleep(4.0)  # into the "marque su RUT" prompt: keys cut it off, as on any IVR
        await phone.apress("145678900#", gap_s=0.25)  # 8 digits and the check digit; '#' out of habit
        await asyncio.sleep(2.0)  # into "los últimos cuatro dígitos de un teléfono": cut off too
        await phone.apress("0001", gap_s=0.25)  # the phone on file ends in 0001
        keys_done = asyncio.get_running_loop().time() - established
        await asyncio.sleep(16.0)  # the notice (about 10 s) and "¿Tiene un momento?", heard whole
        await phone.apress("1")  # yes: go ahead
        await asyncio.to_thread(phone.wait_closed, 65)
        result = phone.stop()
        record = await last_inbound_record(app)
        events = await app.call_log.events(record.id)
        turns = await app.call_log.turns(record.id)
    identified = [e.data for e in events if e.kind == "identified"]
    assert identified == [{"by": "dtmf", "debtor_id": debtor_id}], [(e.kind, e.data) for e in events]
    assert turns and turns[0]["turn_rule"] == "dtmf" and turns[0]["user_text"] == "145678900", turns
    # The RUT names who the caller claims to be; the phone's last digits prove it. Nothing before that.
    assert "proteger sus datos" in turns[0]["agent_spoken"] and "Juan" not in turns[0]["agent_spoken"], turns[0]
    assert len(turns) > 1 and turns[1]["user_text"] == "0001", turns
    # The notice first, naming the company, the debt only after the go-ahead (the opening's short turns).
    assert "grabada" in turns[1]["agent_spoken"] and "185000" not in turns[1]["agent_spoken"], turns[1]
    assert "Juan" not in turns[1]["agent_spoken"], turns[1]
    assert len(turns) > 2 and turns[2]["user_text"] == "1" and "185000 pesos" in turns[2]["agent_spoken"], turns
    assert record.metrics["conversation"]["keys_pressed"] == 15  # the "#" too, ignored as an entry
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT debtor_id FROM call_attempts WHERE id = %s", (record.id,))
        assert (await cur.fetchone())[0] == debtor_id  # the record is the debtor's from then on
    # And the phone heard it: after the keys, one stretch of speech as long as the notice's sentences
    # take to say (Whisper base cannot be trusted with espeak through G.711 on a long stretch: measured).
    assert result.heard_wav is not None
    heard = speech_segments(read_wav(result.heard_wav), hangover_ms=400)
    async with EspeakTts() as tts:
        expected_s = sum([(await tts.synthesize(line)).duration_s for line in debt_lines(turns[1]["agent_spoken"])])
    after_keys = [(start, end) for start, end in heard if start > keys_done]
    assert after_keys and abs((after_keys[0][1] - after_keys[0][0]) - expected_s) <= 0.15 * expected_s, \
        (heard, expected_s)


def debt_lines(spoken: str) -> list[str]:
    """The sentences as the agent synthesised them (one clip each): split after . and ?"""
    return [s.strip() for s in re.split(r"(?<=[.?])\s+(?=[A-Z¿])", spoken) if s.strip()]
