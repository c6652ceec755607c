"""A pause in the middle of a sentence does not split the caller's turn: through the lab, the reactive
test phone (tests/phones/reactive.py) answers the agent's notice with one sentence said in two parts
with 0.55 s of silence between them, and the turn the app stores (call_turns.user_text) holds the
words of both halves, answered once.

0.55 s is longer than the segmenter's hang-over (300 ms), so the VAD ends an utterance in the pause:
the end-of-turn wait (media/turn.py) must not answer the first half alone, or, if it begins to, the
second half must be carried into the same turn. The words are espeak-ng at 130 wpm, as the other lab
tests speak, chosen from phrases Whisper base reads right through G.711 ("Quiero hablar con una
persona.", tests/integration/test_collections_outcomes.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.app import CallCenterApp
from media.audio import read_wav
from media.text import fold
from tests.integration.conftest import app_settings, attempt_ended, seed_lab_debtor, spoken_company
from tests.phones.audio import make_caller_script, make_spanish_wav
from tests.phones.reactive import Line, ReactivePhone, turns_table

DEBTOR_PHONE = "+56955551234"
WPM = 130
PAUSE_S = 0.55
# The first half alone is a complete answer whose reply only speaks (a reply that already carried out an
# action, such as a transfer, cannot be taken back: that turn stays a turn). Together they ask for a person.
FIRST, SECOND = "No puedo pagar ahora", "quiero hablar con una persona."
FIRST_WORDS, SECOND_WORDS = ("pagar", "puedo"), ("persona", "hablar")  # folded; one of each suffices
pytestmark = pytest.mark.timeout(240)
# The agent answers ~0.35 s after Silero's end, inside a 0.55 s pause: the first half alone would be a
# turn. The second half starting within `ConversationConfig.continuation_s` of that turn makes it a pause:
# the reply is cut, the brain forgets the turn, and both halves are answered as one (media/conversation.py).


async def test_a_pause_inside_a_sentence_stays_one_turn(database_url, db_pool, tmp_path: Path):
    it_is_me = make_spanish_wav("Correcto, soy yo.", tmp_path / "me.wav", wpm=WPM)
    paused = make_caller_script([FIRST, PAUSE_S, SECOND], tmp_path / "paused.wav", wpm=WPM)
    script = [Line(audio=read_wav(it_is_me), label="Correcto, soy yo."),  # to "¿Hablo con María?"
              Line(audio=read_wav(paused), label=f"{FIRST} | {SECOND}")]  # to "¿Tiene un momento?"
    async with ReactivePhone(script, number=DEBTOR_PHONE, workdir=tmp_path / "phone", quiet_timeout_s=30) as phone:
        trunk = f"trunk/sip:127.0.0.1:{phone.port}"
        debtor_id, _ = await seed_lab_debtor(db_pool, spoken_company(), (DEBTOR_PHONE,), trunk=trunk)
        settings = app_settings(database_url, AGENT_MODE="conversation", DIALER_CHANNELS=1, DIALER_POLL_S=0.3,
                                TRUNK_ENDPOINT=trunk, NO_INPUT_TIMEOUT_S=25,
                                RECORDINGS_DIR=str(tmp_path / "recordings"))
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            await phone.wait_answered(timeout_s=30)
            await phone.wait_done(timeout_s=120)
            attempt_id = await attempt_ended(db_pool, debtor_id)
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT idx, user_text, turn_rule, agent_spoken, interrupted, stt_final_ms, first_rtp_out_ms
                 FROM call_turns WHERE attempt_id = %s ORDER BY idx""",
            (attempt_id,))
        stored = await cur.fetchall()
        cur = await conn.execute(
            "SELECT speaker, text, start_ms FROM call_lines WHERE attempt_id = %s ORDER BY start_ms, id",
            (attempt_id,))
        lines = await cur.fetchall()
    why = "\n".join([*(f"turn {t}" for t in stored), *(f"line {x}" for x in lines),
                     turns_table(phone.turns, phone.answered_at), phone.diagnostics()])
    print(why)

    assert len(phone.turns) == 2, why  # both lines were said
    # One stored turn holds words of both halves: the pause did not split the sentence into two turns.
    both = [t for t in stored if any(w in fold(t[1]) for w in FIRST_WORDS)
            and any(w in fold(t[1]) for w in SECOND_WORDS)]
    assert both, why
    # And no turn was the first half alone (answered before the second half began).
    alone = [t for t in stored if any(w in fold(t[1]) for w in FIRST_WORDS)
             and not any(w in fold(t[1]) for w in SECOND_WORDS)]
    assert not alone, why
