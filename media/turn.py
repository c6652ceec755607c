"""Spanish-aware end-of-turn decisions and the no-input (silent caller) policy.

When the segmenter reports a pause, the agent must decide whether the caller has finished. Silence
alone is a poor signal: debtors pause mid-sentence ("ya pagué el... el quince"), while dictating a
RUT or an amount, and before a question ("¿y si..."). Answering into those pauses is the most
irritating thing a voice bot does, while waiting a second after every "sí" makes it feel slow.
So the partial transcript at the pause picks the wait: short when the words form a complete
answer, long when the last word grammatically demands more.

When the utterance's audio is at hand, how the voice ended (:mod:`media.prosody`) adjusts the
text's verdict in three narrow cases, each named in the decision's reason ("complete+rising"):

* complete words + rising final pitch: a question (the recogniser may have dropped the "?"): the
  caller waits for the answer, so answer at ``question_wait_s`` (sooner than a statement);
* words ending on a connector ("..., pero", "así que") + falling pitch + fading energy + a long
  pause already (``long_pause_s``): the voice closed the sentence and the connector is a tag, not a
  bridge; answer after ``closed_wait_s`` instead of the full ``incomplete_wait_s``. Not for articles
  or prepositions ("pagué el..."): nobody ends on those, whatever the voice does;
* complete words + level pitch + abrupt energy cut: full voice up to the pause is a sentence cut by
  a breath, not ended ("le pago el viernes | y el resto..."): wait ``held_wait_s``.

Matching is done on a normalised form (lower case, no accents, no punctuation) because
recognisers are inconsistent about all three, except for a few words whose accent changes their
role ("sí" answer vs "si" conditional, "qué" question vs "que" connector), checked first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from media.text import fold

if TYPE_CHECKING:
    from media.prosody import ProsodyCues

__all__ = [
    "NoInputAction",
    "NoInputPolicy",
    "TurnDecision",
    "TurnDetector",
    "turn_complete",
    "words",
]

# --- Word lists (normalised: lower case, accents stripped). Data, not code, so they can be tuned.


def _words(*groups: str) -> frozenset[str]:
    """A word set from space-separated groups (one group per line keeps the lists readable)."""
    return frozenset(word for group in groups for word in group.split())


#: Conjunctions and subordinators: a clause ending in one is unfinished ("ya pagué pero...").
#: Not listed on purpose: "pues"/"po" (Chilean tags: "ya pues", "sí po" are complete answers),
#: "luego" ("hasta luego"), "también" ("yo también").
CONNECTORS = _words(
    "y e o u ni pero sino aunque",  # coordinating: the second half is still to come
    "que porque cuando si mientras como entonces osea",  # subordinating / discourse links
)

#: Articles, prepositions, possessives and demonstratives need a noun after them ("pagué con la...").
FUNCTION_WORDS = _words(
    "el la los las un una unos unas lo al del",  # articles (and contractions)
    "a ante bajo con contra de desde en entre hacia hasta para por segun sin sobre tras",  # prepositions
    "mi mis tu tus su sus nuestro nuestra nuestros nuestras",  # possessives ("mí"/"tú" exempt below)
    # demonstratives; "este"/"esta" double as Latin-American fillers: either way more is coming
    "este esta estos estas ese esa esos esas aquel aquella",
)

#: Hesitation sounds: the caller is thinking, not done. Spelling varies, so also a pattern.
#: Not "bueno": on its own it means "OK", a complete answer.
FILLERS = _words("eh em ehm emm mmm mm hmm ah este")
_FILLER_RE = re.compile(r"^(e+h*m*|m{2,}|h?m{2,}|a+h+)$")

#: Number words that are (or can be) the middle of a longer number: an amount or a RUT is being
#: dictated and the caller pauses between groups ("doce millones ... trescientos ...").
NUMBER_WORDS = _words(
    "cero uno un una dos tres cuatro cinco seis siete ocho nueve",
    "diez once doce trece catorce quince dieciseis diecisiete dieciocho diecinueve",
    "veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa",
    "cien ciento cientos doscientos doscientas trescientos trescientas cuatrocientos quinientos",
    "seiscientos setecientos ochocientos novecientos mil millon millones",
    "guion raya punto coma",  # RUT punctuation is spoken: "doce punto tres..." / "guion k"
)
#: "veinti..." is a prefix of 21-29 and what a recogniser emits when cut mid-word.
NUMBER_PREFIXES = ("veinti", "dieci")

#: Open question or statement lead-ins: the content is still to come ("qué pasa si...").
#: Matched as a suffix of the normalised text; ones ending in a connector are listed for clarity.
LEAD_INS = (
    "y si",
    "que pasa si",
    "que pasa con",
    "que tal si",
    "y cuando",
    "pero si",
    "o sea",
    "lo que pasa es",
    "la cosa es",
    "el tema es",
    "la verdad es",
    "mi rut es",
    "el rut es",
    "mi numero es",
    "el numero es",
    "mi nombre es",
    "me llamo",
    "quisiera saber",
    "queria saber",
    "tengo una pregunta",
)

#: Accented forms that are complete on their own even though their unaccented twin is not:
#: "sí" (yes) vs "si" (if), "qué"/"cómo"/"cuándo" (question words) vs connectors, "él"/"mí"/"tú"
#: (pronouns) vs article/possessives. Checked on the raw text before accents are stripped.
#: "está" (is) vs "esta" (this), "dé" (give) vs "de" (of).
ACCENTED_COMPLETE = _words("sí qué cómo cuándo dónde él mí tú más está dé")

#: A lone unaccented "si" is almost always a recogniser's "sí": nobody answers "if".
LONE_COMPLETE = frozenset({"si"})

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Words of ``text``: lower case, accents (and ñ's tilde) stripped, punctuation dropped."""
    return _WORD_RE.findall(fold(text))


@dataclass(frozen=True)
class TurnDecision:
    """``complete``: the caller has probably finished; ``wait_s``: silence to wait before replying
    (the agent still yields if speech resumes); ``reason``: which rule decided, for logs/tuning."""

    complete: bool
    wait_s: float
    reason: str


@dataclass(frozen=True)
class TurnDetector:
    """End-of-turn rules with tunable waits (seconds of extra silence after the pause)."""

    complete_wait_s: float = 0.25
    incomplete_wait_s: float = 1.0
    number_wait_s: float = 1.2  # dictation pauses between digit groups are long
    trailing_off_wait_s: float = 0.9
    # Prosody (used only when cues are passed to decide()).
    question_wait_s: float = 0.15  # complete words, rising pitch: the caller is waiting for us
    closed_wait_s: float = 0.5  # connector at the end, but the voice fell and faded
    held_wait_s: float = 0.6  # complete words, but level pitch and full voice up to an abrupt stop
    long_pause_s: float = 0.5  # silence since the speech ended for closed_wait_s to apply

    def __post_init__(self) -> None:
        waits = (self.complete_wait_s, self.incomplete_wait_s, self.number_wait_s, self.trailing_off_wait_s,
                 self.question_wait_s, self.closed_wait_s, self.held_wait_s, self.long_pause_s)
        if min(waits) < 0:
            raise ValueError(f"waits must be >= 0, got {waits}")

    @property
    def min_wait_s(self) -> float:
        return min(self.complete_wait_s, self.incomplete_wait_s, self.number_wait_s, self.trailing_off_wait_s)

    @property
    def max_wait_s(self) -> float:
        return max(self.complete_wait_s, self.incomplete_wait_s, self.number_wait_s, self.trailing_off_wait_s)

    def decide(self, text: str, cues: ProsodyCues | None = None) -> TurnDecision:
        """The text's verdict, adjusted by how the voice ended when ``cues`` are given (module doc)."""
        decision = self._decide_text(text)
        return decision if cues is None else self._with_prosody(decision, cues)

    def _with_prosody(self, decision: TurnDecision, cues: ProsodyCues) -> TurnDecision:
        if decision.reason == "complete":  # not "answer_word": a lone "sí" is short and clear already
            if cues.rising:
                return TurnDecision(True, min(self.question_wait_s, self.complete_wait_s), "complete+rising")
            if cues.pitch == "flat" and cues.abrupt:
                return TurnDecision(False, max(self.held_wait_s, self.complete_wait_s), "complete+level_abrupt")
        elif decision.reason == "connector":
            closed = cues.falling and cues.fading
            if closed and cues.pause_s is not None and cues.pause_s >= self.long_pause_s:
                return TurnDecision(True, min(self.closed_wait_s, decision.wait_s), "connector+falling_fading")
        return decision

    def _decide_text(self, text: str) -> TurnDecision:
        tokens = words(text)
        if not tokens:
            # Nothing recognised (noise, breath): give the caller time to actually say something.
            return TurnDecision(False, self.incomplete_wait_s, "empty")
        raw_words = _WORD_RE.findall(unicodedata.normalize("NFC", text.casefold()))
        raw_last = raw_words[-1] if raw_words else ""
        last = tokens[-1]
        joined = " ".join(tokens)

        if raw_last in ACCENTED_COMPLETE or (len(tokens) == 1 and last in LONE_COMPLETE):
            return self._complete("answer_word")
        for lead in LEAD_INS:
            if joined == lead or joined.endswith(" " + lead):
                return TurnDecision(False, self.incomplete_wait_s, "lead_in")
        if last.isdigit() or last in NUMBER_WORDS or last.startswith(NUMBER_PREFIXES):
            return TurnDecision(False, self.number_wait_s, "number")
        if last in FILLERS or _FILLER_RE.match(last):
            return TurnDecision(False, self.incomplete_wait_s, "filler")
        if last in CONNECTORS:
            return TurnDecision(False, self.incomplete_wait_s, "connector")
        if last in FUNCTION_WORDS:
            return TurnDecision(False, self.incomplete_wait_s, "function_word")
        stripped = text.rstrip()
        if stripped.endswith(("...", "…")):
            # Recognisers write an ellipsis when the voice trails off mid-thought.
            return TurnDecision(False, self.trailing_off_wait_s, "trailing_off")
        return self._complete("complete")

    def _complete(self, reason: str) -> TurnDecision:
        return TurnDecision(True, self.complete_wait_s, reason)


_DEFAULT = TurnDetector()


def turn_complete(text: str) -> TurnDecision:
    """:meth:`TurnDetector.decide` with the default waits."""
    return _DEFAULT.decide(text)


NoInputAction = Literal["wait", "reprompt", "hang_up"]


@dataclass(frozen=True)
class NoInputPolicy:
    """What to do when the caller says nothing after the agent stopped speaking.

    After ``timeout_s`` of silence the agent re-prompts ("¿Aló? ¿Me escucha?") up to
    ``reprompts`` times, then hangs up. The caller of :meth:`decide` measures silence from the
    end of the *latest* agent utterance, so a reprompt restarts the clock.
    """

    timeout_s: float = 6.0
    reprompts: int = 1

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.reprompts < 0:
            raise ValueError(f"reprompts must be >= 0, got {self.reprompts}")

    def decide(self, silence_s: float, reprompts_made: int) -> NoInputAction:
        if silence_s < 0 or reprompts_made < 0:
            raise ValueError(f"silence_s and reprompts_made must be >= 0, got {silence_s}, {reprompts_made}")
        if silence_s < self.timeout_s:
            return "wait"
        return "reprompt" if reprompts_made < self.reprompts else "hang_up"
