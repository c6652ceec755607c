"""Spanish cues the rule analyzer reads in a caller's turn, beyond `agent.nlu`'s intents.

`agent.nlu` answers "what does the caller want now" for the live agent; after the call the
questions are others: how did they sound, did they refuse outright, why have they not paid, how
would they pay. The patterns match `agent.nlu.text.normalise` output (lower case, no accents, no
punctuation), like every rule in `agent.nlu`.

Sentiment is lexical on purpose (seed 001's keyword approach, extended for Chilean/Argentine/
Colombian speech and with the intents' weight): deterministic, explainable in a review, and fast
enough to run over every call. The LLM analyzer, when configured, does the subtle cases.
"""

from __future__ import annotations

import re

from agent.nlu import Intent
from analysis.schema import Sentiment

__all__ = ["FRUSTRATION", "REFUSAL", "THIRD_PARTY", "channel_of", "english", "reason_of", "turn_sentiment"]

# Anger, complaint and insults: a frustrated caller (and a negative turn).
FRUSTRATION = re.compile(
    r"\b(?:hart[oa]s?|cansad[oa]s? de|aburrid[oa]s? de|molest\w*|enoj\w*|enfad\w*|furios\w*|indignad\w*"
    r"|rabia|abus\w*|verguenza|sinverguenza\w*|ridicul\w*|ladron\w*|un robo|estafador\w*|pesim\w*"
    r"|horrible|insoportable|hasta cuando|cuantas veces|ya (?:les|le|te) dije|otra vez (?:con|lo mismo|llamando)"
    r"|todos los dias (?:me )?llam\w*|no me (?:entiende|escucha|esta escuchando)\b"
    r"|reclamo|denunci\w*|sernac|superintendencia|abogad[oa]"
    r"|mierda|carajo|conchetumare|ctm|weon|huevon|puta|joder|cabron\w*|pendej\w*|boludo|forro|hdp)\b"
)
# Plain displeasure or hardship: a negative turn, not (by itself) a frustrated caller.
_DOWNBEAT = re.compile(
    r"\b(?:no (?:me )?interesa|no quiero|imposible|mal|problemas?|triste|dificil|complicad\w*|preocupad\w*"
    r"|no puedo|lamentablemente|desgraciadamente)\b"
)
_UPBEAT = re.compile(
    r"\b(?:gracias|perfecto|excelente|genial|buenisimo|muy amable|de acuerdo|con gusto|me parece bien"
    r"|claro que si|encantad[oa]|que bueno|bacan|super|feliz|tranquil\w*|muy bien|sin problema)\b"
)
# An outright refusal to pay. "No voy a poder pagar" is not one (that is cannot_pay): "poder" sits
# between the negation and the verb, so the pattern does not reach it.
REFUSAL = re.compile(
    r"\bno (?:le |les |te |lo |la )?(?:quiero|pienso|voy a|vamos a) (?:pagar|abonar|cancelar)\w*"
    r"|\bno (?:me |nos )?interesa\b|\bno (?:le |les )?pago\b|\bolvidese\b|\bni (?:loco|cagando|muerto|cagado)\b"
    r"|\bno (?:tengo|hay) (?:nada )?(?:que|por que) pagar\b|\bque me demanden\b|\bno (?:les |le )?voy a dar\b"
)
# Someone else answered for the debtor (not a wrong number: they know them).
THIRD_PARTY = re.compile(
    r"\bno (?:esta|se encuentra)\b(?! (?:bien|mal|claro|correcto|seguro|de acuerdo))|\bsoy (?:su|la|el) (?:hij[oa]|espos[oa]|mama|papa|madre|padre|herman[oa]"
    r"|pareja|senora|marido|polol[oa]|novi[oa]|abuel[oa]|ti[oa]|sobrin[oa])\b|\bsalio\b"
    r"|\b(?:le|se lo|se la) (?:doy|dejo|paso) el (?:recado|mensaje)\b"
)
AUDIO_PROBLEM = re.compile(r"\bno se (?:escucha|oye)\b|\bse (?:esta )?cort\w*|\bmala senal\b"
                           r"|\bno (?:le |te )?(?:escucho|oigo)\b|\bse cayo\b")

_REASONS = (
    ("unemployment", re.compile(
        r"\bcesante\b|\bsin (?:trabajo|pega|laburo|empleo)\b|\bdesemplead[oa]\b|\bme (?:echaron|despidieron)\b"
        r"|\bperdi (?:el |mi )?(?:trabajo|pega|laburo|empleo)\b|\bno estoy trabajando\b|\bdespid\w*")),
    ("health", re.compile(
        r"\benferm\w*|\bhospital\w*|\boperacion\b|\bme operaron\b|\blicencia medica\b|\baccidente\b"
        r"|\bcancer\b|\btratamiento\b|\bmedicamentos?\b")),
    ("forgot", re.compile(r"\bse me olvid\w*|\bolvide\b|\bno me acorde\b|\bse me paso\b")),
    ("other_priorities", re.compile(
        r"\botr[oa]s (?:gastos|prioridades|deudas|cuentas)\b|\bprimero (?:tengo|debo) (?:que )?pagar\b"
        r"|\barriendo\b|\bcolegio\b|\bdividendo\b")),
    ("financial_hardship", re.compile(
        r"\bno tengo (?:plata|dinero|lucas|un peso|ni un peso|recursos|ingresos|como pagar)\b"
        r"|\b(?:no|apenas|ni) me alcanza\b|\bme bajaron el sueldo\b|\bestoy (?:quebrad[oa]|corto de plata)\b")),
)
_CHANNELS = (
    ("payment_link", re.compile(r"\b(?:link|enlace|whatsapp|wasap|guasap|correo|mail|email|sms)\b")),
    ("bank_transfer", re.compile(r"\btransfer\w*|\bcuenta (?:rut|corriente|vista|bancaria)\b|\bdatos bancarios\b")),
    ("cash_deposit", re.compile(r"\b(?:efectivo|caja|sucursal|servipag|deposit\w*|en persona|pago facil)\b")),
)
_ENGLISH = re.compile(r"\b(?:hello|hi|yes|yeah|what|who|speak|english|sorry|please|thank|thanks|the|you|is"
                      r"|are|this|i|am|don|t|can|call|later|money|pay)\b")

# What an intent says about the caller's mood, added to the lexical cues.
_INTENT_SCORE = {Intent.PROMISE_TO_PAY: 1, Intent.STOP_CALLING: -1, Intent.DISPUTE: -1, Intent.CANNOT_PAY: -1}


def turn_sentiment(normal: str, intent: Intent) -> tuple[Sentiment, bool]:
    """One caller turn's sentiment, and whether it shows frustration."""
    frustrated = FRUSTRATION.search(normal) is not None
    score = _INTENT_SCORE.get(intent, 0) + len(_UPBEAT.findall(normal))
    score -= len(_DOWNBEAT.findall(normal)) + (2 if frustrated else 0) + (1 if REFUSAL.search(normal) else 0)
    if score > 0:
        return Sentiment.POSITIVE, frustrated
    if score < 0:
        return Sentiment.NEGATIVE, frustrated
    return Sentiment.NEUTRAL, frustrated


def reason_of(normal: str) -> str | None:
    """Why the caller has not paid, when they said it: the first reason named in the turn."""
    return next((name for name, pattern in _REASONS if pattern.search(normal)), None)


def channel_of(normal: str) -> str | None:
    """How the caller said they would pay, when they said it."""
    return next((name for name, pattern in _CHANNELS if pattern.search(normal)), None)


def english(normal_caller_text: str) -> bool:
    """Most of what the caller said is English (a tourist's phone, an expat debtor)."""
    words = normal_caller_text.split()
    hits = len(_ENGLISH.findall(normal_caller_text))
    return hits >= 2 and hits * 5 >= len(words) * 2  # at least 40 % of the words
