"""What a debtor's utterance means, for the built-in rule engine (no LLM, or the LLM failed).

`understand` reads one transcript into an `Understanding`: an intent with the entities the agent
acts on (promise date, amount, instalments, callback time, RUT). Rules are ordered by what costs
most to get wrong, and the first that fires wins:

1. Requests with legal or compliance weight: stop calling, a person, the debt disputed, wrong
   number, already paid. "No me vuelvan a llamar" contains "llamar" and "no", and must never be
   read as a callback or a plain "no".
2. An explicit "llámeme ..." (a callback, with its time), then a RUT (identification).
3. Cannot pay, unless a date follows "pero"/"hasta" ("no puedo pagar hasta fin de mes" is a promise).
4. A pay verb with a date, amount or instalments: a promise ("sí, el viernes le pago cincuenta
   mil" is a promise, not a "sí").
5. How to pay (link, account), negotiation asked as a question, "not now" (busy: a callback), a
   bare date or amount (the answer to "¿cuándo / cuánto podría pagar?"), negotiation, "soy yo",
   questions about the debt, a pay verb without details.
6. Conversation mechanics: repeat, greeting, goodbye, and last the plain yes/no, so that "ya
   pagué" is paid and not "ya" (yes).

Patterns match the normal form of `agent.nlu.text.normalise` (no accents, no punctuation), except
the past tense of paying, which reads Whisper's accents when it wrote them ("pagué" vs "pague").
A question mark only separates "¿puedo pagar en tres cuotas?" (negotiating) from the same words
said as an offer.
"""

# Size: over 400 lines, most of them the rule tables (the words of each intent, as data); the logic is
# the last hundred lines, from `_Heard` on.

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from agent.nlu.dates import find_date, promise_date_in, when_in
from agent.nlu.numbers import amount_in, installments_in, numerify, rut_in
from agent.nlu.text import accented_words, normalise

__all__ = ["Intent", "Understanding", "understand"]


class Intent(StrEnum):
    PROMISE_TO_PAY = "promise_to_pay"
    CALLBACK = "callback"
    HUMAN = "human"
    WRONG_NUMBER = "wrong_number"
    ALREADY_PAID = "already_paid"
    STOP_CALLING = "stop_calling"
    CANNOT_PAY = "cannot_pay"
    DISPUTE = "dispute"
    PAYMENT_LINK = "payment_link"
    NEGOTIATE = "negotiate"  # instalments, discount, more time, without a concrete offer
    ASK_DEBT = "ask_debt"  # how much, what for
    IDENTIFY = "identify"  # the caller says their RUT
    CONFIRM = "confirm"
    DENY = "deny"
    REPEAT = "repeat"
    GREETING = "greeting"
    GOODBYE = "goodbye"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Understanding:
    """One utterance, understood. ``promise_date`` is set for promises and ``callback_at`` for
    callbacks (a date is one or the other, never both); amount, instalments and RUT whenever said.
    ``matched`` names the rule that decided, for logs and tuning."""

    intent: Intent
    confidence: float
    promise_date: date | None = None
    amount: int | None = None
    installments: int | None = None
    callback_at: datetime | None = None
    rut: str | None = None
    matched: str = ""
    # What keeps a said date from being a promise's: "which_day" ("la otra semana"), "weekday_mismatch"
    # ("el viernes 27" on a Thursday), "past"; promise_date is then None (or the past day).
    date_issue: str = ""


@dataclass(frozen=True)
class _Rule:
    name: str
    intent: Intent
    confidence: float
    pattern: re.Pattern[str]


def _rules(intent: Intent, confidence: float, **patterns: str) -> tuple[_Rule, ...]:
    return tuple(_Rule(name, intent, confidence, re.compile(p)) for name, p in patterns.items())


I = Intent  # the tables below read better short

STOP = _rules(
    I.STOP_CALLING, 0.95,
    no_vuelvan=r"\bno (?:me |nos |le )?(?:vuelv\w* a|sig\w*) llam",
    no_llamen_mas=r"\bno (?:me |nos |le )?llam\w* (?:mas|nunca)\b|\bnunca mas (?:me )?llam",
    dejen_de=r"\bdej\w* de (?:llam|molest|joder|hinchar|insistir)",
    borrenme=r"\b(?:borr|sa[cq]|elimin|quit)\w* (?:de|del) (?:su |la |esa |sus |vuestra )?"
             r"(?:lista|base|registro|sistema)"
             r"|\b(?:borr|elimin)\w* (?:el|mi|este) (?:numero|telefono|celular)\b",
    no_quiero_llamadas=r"\bno quiero (?:que me (?:sigan |vuelvan a )?llam|(?:recibir )?mas llamadas)",
    siguen_llamando=r"\bme sig\w* llamando\b|\bsernac\b|\bsuperintendencia\b",
    no_insistan=r"\bno (?:me )?(?:insist|molest)\w*|\b(?:dar|darme|den|denme) de baja\b",
    # Any negated "call me" ("no me llamen a este número"): erring this way loses a callback, the
    # other way calls someone who said no. "No me llame ahora" is a callback; "no me llamo" a name.
    no_me_llame=r"\bno (?:me |nos |le |lo |la )?(?:llam(?!o\b)|marqu|contact)\w*"
                r"(?! (?:ahora|hoy|en este momento|a esta hora|tan temprano))\b",
)
_PERSON = r"(?:persona|humano|ejecutiv[oa]|supervisora?|operadora?|asesora?|agente|encargad[oa]|alguien)"
HUMAN = _rules(
    I.HUMAN, 0.9,
    con_persona=rf"\b(?:hablar|hable|comunic\w+|pas[ae]me|pasam\w*|pasenme|atienda|derive\w*|conect\w+"
                rf"|quiero|necesito)\b(?: \w+){{0,4}}? {_PERSON}\b",
    con_un=rf"\bcon (?:un|una|el|la|algun|alguna) {_PERSON}\b",
    maquina=r"\b(?:robot|maquina|grabacion|contestadora|contestador|bot)\b"
            r"|\b(?:persona|alguien) (?:real|de verdad)\b|\balguien con quien\b",
)
DISPUTE = _rules(
    I.DISPUTE, 0.9,
    no_es_mia=r"\bno (?:es |son )?(?:mias?|mios?|mi deuda|mi credito|mi cuenta)\b"
              r"|\b(?:deuda|cuenta|credito|tarjeta) (?:es|era) de (?:mi|otra|otro|un|una)\b",
    monto_mal=r"\b(?:monto|cobro|saldo|valor|total|cifra) (?:esta|es|viene|sale) (?:mal|malo|errad\w*|equivocad\w*)\b"
              r"|\b(?:eso|esto) esta mal\b"
              r"|\bdebia (?:mucho |bastante )?menos\b|\bno (?:es|era|debo) tanto\b",
    de_mas=r"\bcobr\w+ (?:de mas|demas|doble|dos veces|mal)\b|\bcobros? (?:indebid|excesiv|dobl)\w*",
    no_reconozco=r"\bno (?:la |lo )?reconozco\b",
    nunca=r"\bnunca (?:he )?(?:saque|sacado|tuve|tenido|pedi|pedido|compre|comprado|firme|firmado"
          r"|fui|sido)\b",
    no_debo=r"\bno (?:le |les )?debo\b(?! pagar)|\bno tengo (?:ninguna |nada de )?deudas?\b|\bnada que ver\b",
    error=r"\b(?:es|fue|debe ser) un error\b|\bfraude\b|\bestafa\b|\bsuplant\w+|\bprescri\w+"
          r"|\bno (?:me )?corresponde\b",
)
WRONG_NUMBER = _rules(
    I.WRONG_NUMBER, 0.9,
    equivocado=r"\bequivocad[oa]\b|\b(?:se|te|me) equivoc\w*\b|\bequivoc\w* de (?:numero|persona)\b",
    no_vive=r"\b(?:aqui|aca) no (?:vive|es|hay|existe|trabaja)\b|\bno (?:vive|trabaja) (?:aqui|aca)\b",
    no_hay=r"\bno hay (?:ningun|ninguna|nadie)\b",
    no_conozco=r"\bno (?:la |lo |le )?conozco\b|\bno se quien (?:es|son)\b",
    numero=r"\b(?:este|ese) numero (?:es mio|ya no es)\b|\bno es (?:este|ese|mi) numero\b"
           r"|\bnumero (?:\w+ )?(?:lo )?(?:tengo|compre|me (?:lo )?dieron|me asignaron) (?:hace|desde) (?:poco|nada)\b"
           r"|\b(?:es un |tengo un )numero nuevo\b|\b(?:dueno|duena|usuario) anterior\b",
    otra_persona=r"\botra persona\b|\bno me llamo\b|\bno es mi nombre\b",
)
# Past tense of paying: with Whisper's accent it is certain; without, "pague" is also the
# subjunctive ("que le pague"), so a trigger word before it makes it a present/future.
# ("pagamos" is left out: it is also the present, "lo pagamos el viernes".)
_PAST_ACCENTED = re.compile(r"\b(?:(\w+) )?(?:(\w+) )?(?:pagué|pagó|cancelé|canceló|deposité|depositó"
                            r"|transferí|transfirió|aboné|abonó|consigné|consignó|saldé|saldó"
                            r"|pagaron)\b")
_PAST_PLAIN = re.compile(r"\b(?:(\w+) )?(?:(\w+) )?(?:pague|cancele|deposite|transferi|transfirio"
                         r"|abone|consigne|salde|pagaron)\b")
_NEGATION = frozenset({"no", "nunca", "jamas"})
_CLITICS = frozenset({"lo", "la", "le", "les", "los", "las", "se", "me", "te"})


_SUBJUNCTIVE = frozenset({"que", "cuando", "apenas", "si", "para", "hasta", "no", "nunca", "quiere"})
ALREADY_PAID = _rules(
    I.ALREADY_PAID, 0.85,
    pagado=r"\b(?:esta|estan|quedo|fue|ya) (?:ya )?(?:pagad|cancelad|saldad|abonad)[oa]s?\b",
    hice_el_pago=r"\b(?:hice|realice|hicimos|hizo) (?:el|la|un|una) (?:pago|transferencia|deposito|abono)",
    al_dia=r"\b(?:estoy|estamos|esta|me puse|nos pusimos|quede|quedamos) al dia\b"
           r"|\btengo (?:el|los) comprobantes?\b|\bya no (?:le |les )?debo\b",
)
CALLBACK_ASKED = _rules(
    I.CALLBACK, 0.9,
    llameme=r"\bllam(?:e|eme|ame|enme|en|ar|arme|arnos|arla|arlo|as|aria|arias|ara|ame)\b"
            r"|\bcontact(?:eme|ame|enme|arme|ar)\b|\bmar(?:car|carme|queme|quen|que|came)\b"
            r"|\bdevuelv\w* (?:la )?llamada\b|\b(?:yo )?(?:le|lo|la|los|te) (?:llamo|devuelvo)\b"
            # "mañana me llama", "¿me habla en una hora?"; not "¿quién me llama?" nor "me llama la atención"
            r"|(?<!quien )(?<!quienes )\bme (?:llama|llamas|llamai|habla|hablas|hablai)\b(?! la atencion)",
)
NEGOTIATE = _rules(
    I.NEGOTIATE, 0.8,
    cuotas=r"\bcuotas?\b|\ben partes\b|\bplan de pagos?\b|\bfacilidad(?:es)? de pago\b",
    descuento=r"\bdescuento\b|\brebaja\w*|\bcondon\w*|\bquita\b|\bintereses\b|\bbaj(?:ar|en|arme)\b",
    convenio=r"\bconvenio\b|\brepact\w*|\brefinanc\w*|\brenegoci\w*",
    plazo=r"\bplazo\b|\bmas tiempo\b|\bprorroga\b|\bcongel\w*|\bposterg\w*|\baplaz\w*",
)
_RENEGOTIATE = tuple(rule for rule in NEGOTIATE if rule.name == "convenio")
_PAY = (r"(?:hago (?:el|la|un|una) (?:pago|transferencia|deposito|abono)|pongo al dia|ponerme al dia"
        r"|pagar\w*|pagare|pagaria|abonar\w*|abonare|depositar\w*|transfiero|transferir\w*|cancelo"
        r"|cancelar\w*|consigno|consignar\w*"
        r"|(?<!\bde )(?<!\bel )(?<!\bun )(?<!\bsu )(?<!\bmi )(?<!\bal )(?<!\bdel )(?:pago|abono|deposito))")
_PAY_RE = re.compile(rf"\b{_PAY}\b")
_CANNOT_PAY_RE = re.compile(
    r"\bno (?:le |les |te )?(?:puedo|podre|podria|voy a poder|alcanzo a|tengo como|voy a) "
    r"(?:pagar|abonar|depositar|cancelar|transferir)"
    r"|\bno tengo (?:plata|dinero|lucas|un peso|ni un peso|ni uno|un mango|guita|trabajo|pega|laburo"
    r"|empleo|como pagar|con que|recursos|ingresos|nada(?! que ver))\b"
    r"|\bme quebre\b|\b(?:sobre)?endeudad[oa]s?\b|\bhasta el cuello\b|\bapretad[oa]s?\b"
    r"|\bno (?:hay|tengo|me queda) (?:ni )?(?:plata|guita|dinero|lucas|un peso|mango) (?:para|pa)\b"
    r"|\b(?:estoy|quede|ando) (?:sin (?:trabajo|pega|laburo|empleo|plata|dinero|un peso|un mango)"
    r"|quebrad[oa]|pato|corto de plata|enferm[oa])\b"
    r"|\bcesante\b|\bdesemplead[oa]\b|\b(?:no|apenas|con suerte|ni) me alcanza\b|\bno estoy trabajando\b"
    r"|\bimposible\b(?! (?:hablar|comunicar|entender|escuchar))"
    r"|\b(?:perdi|me quede sin) (?:el |mi )?(?:trabajo|pega|laburo|empleo)\b|\bme (?:echaron|despidieron)\b"
    # Not the whole balance: "todo no lo tengo", "no lo tengo completo", "el total no me alcanza".
    r"|\b(?:todo|toda|el total|completo|todo junto) no (?:lo |la |le )?(?:tengo|alcanzo|me alcanza)\b"
    r"|\bno (?:lo |la )?tengo (?:todo|completo|el total)\b"
)
_BUT_THEN_RE = re.compile(r"\b(?:pero|hasta|recien|sino)\b")
LINK = _rules(
    I.PAYMENT_LINK, 0.85,
    link=r"\b(?:link|enlace|linc|linck|lin)\b",
    mandeme=r"\b(?:mand|envi|pas)\w* (?:\w+ ){0,3}?(?:por|al|a mi|en|un|una) (?:el )?(?:whatsapp|wasap|guasap"
            r"|correo|mail|email|mensaje|sms|texto)\b",
    datos=r"\bdatos (?:para|de la|de) (?:transferir|transferencia|deposito|pago|pagar|la cuenta)\b"
          r"|\bdatos bancarios\b|\bnumero de cuenta\b|\b(?:cbu|cvu)\b|\balias de (?:la )?cuenta\b",
    en_linea=r"\b(?:por|en) (?:internet|linea|la web|la pagina)\b|\bpagina\b",
    como_pago=r"\b(?:como|donde|por donde|a que cuenta) (?:\w+ ){0,2}?"
              r"(?:pag|deposit|transf(?:i?er)|abon|consign)\w*"
              r"|\b(?:la|una|que|cual es la) cuenta (?:para|donde|a la que) (?:\w+ )?(?:pag|deposit|transfer|abon|consign)",
    medio=r"\b(?:pag|abon|cancel)\w* (?:\w+ )?con (?:tarjeta|debito|credito|transferencia|efectivo|cheque"
          r"|webpay|mercado ?pago|pse|nequi|daviplata)\b|\breciben (?:tarjeta|transferencia|efectivo)\b",
)
BUSY = _rules(
    I.CALLBACK, 0.8,
    ahora_no=r"\b(?:ahora|ahorita|en este momento|hoy) no\b",
    no_puedo_hablar=r"\bno (?:es (?:un )?buen momento|(?:le |te |lo |la )?puedo (?:hablar|atender|conversar)"
                    r"|tengo tiempo)\b",
    # "estoy manejando / almorzando / en una reunión": any gerund but paying ("estoy pagando de a poco").
    ocupado=r"\b(?:estoy|ando|voy) (?:(?!pagando|abonando|depositando)\w+(?:ando|iendo)|ocupad[oa]"
            r"|en (?:una |un |el |la )?(?:reunion|junta|entrevista|trabajo|clases?|micro|bus|colectivo|subte|metro|hospital"
            r"|medico|consulta|laburo|pega|turno|camino|oficina|calle|auto))\b",
    # Whisper often drops the "estoy": an activity that keeps someone from talking is enough.
    actividad=r"\b(?:manejando|conduciendo|almorzando|durmiendo)\b",
    despues=r"\bhabl(?:amos|emos) (?:despues|mas tarde|luego|otro dia|en la|manana|el|este|la otra|la proxima)\b|\b(?:mas tarde|mas rato"
            r"|en otro momento|otro dia|en un rato)\b|\bme agarr\w+ en\b",
)
# Someone else answers for the debtor: to the agent that is "not the debtor" (and the debt is never
# told to them); a callback they ask for is read before this.
_RELATIVE = (r"(?:hij[oa]|espos[oa]|mama|papa|madre|padre|herman[oa]|senora|marido|mujer|pareja|polol[oa]"
             r"|novi[oa]|sobrin[oa]|abuel[oa]|niet[oa]|cunad[oa]|suegr[oa]|nuera|yerno|prim[oa]|ti[oa]"
             r"|vecin[oa]|companer[oa]|jef[ea]|secretaria)")
THIRD_PARTY = _rules(
    I.DENY, 0.8,
    soy_su=rf"\b(?:soy|habla|le habla|te habla) (?:su|la|el) {_RELATIVE}\b",
    salio=r"\b(?:el|ella|mi \w+) (?:salio|no esta|no se encuentra|se fue|viajo|anda (?:afuera|fuera|trabajando))\b",
    recado=r"\b(?:dejar|dejarle|le dejo|deja|dejele) (?:un |el )?(?:recado|mensaje)\b",
)
IDENTITY = _rules(
    I.CONFIRM, 0.9,
    soy_yo=r"(?<!\bno )\bsoy yo\b|\bcon (?:el|ella) habla\b|^(?:si )*(?:el|ella) habla\b"
           r"|^(?:(?:alo|hola|si) )+con (?:el|ella)$",
)
ASK_DEBT = _rules(
    I.ASK_DEBT, 0.85,
    cuanto=r"\bcuanto (?:es|seria|sale|debo|le debo|les debo|tengo que pagar|adeudo|me cobran)\b"
           r"|\b(?:cual|cuanto) es (?:el|la|mi) (?:monto|total|deuda|saldo)\b",
    de_que=r"\bde (?:que|cuando) (?:es|seria|se trata|son)\b|\bque deuda\b"
           r"|\bde (?:donde|que) (?:sale|viene)\b"
           r"|\b(?:con|de) (?:que|cual) (?:empresa|tienda|banco|compania|institucion|casa comercial)\b"
           r"|\bdesde cuando (?:\w+ )?(?:debo|tengo|es|esta)\b",
    por_que=r"\bpor que (?:me )?(?:estan cobrando|cobran|debo|me llaman|me estan llamando)\b",
    cuanto_solo=r"\bcuanto\b",  # "¿y a cuánto asciende?": after every rule that reads an amount
)
REPEAT = _rules(
    I.REPEAT, 0.85,
    solo=r"^(?:como|que|ah|eh|perdon|mande|disculpe|que cosa|como dice|como dijo|alo alo)$",
    no_escuche=r"\bno (?:le |te |lo |la )?(?:escuche|escucho|entendi|entiendo|oigo|oi|escuchado"
               r"|cacho|cache)\b",
    repita=r"\bque (?:dijo|dice|me dijo)\b|\brepet\w+|\brepit\w+|\bmas fuerte\b",
    se_corta=r"\bno se (?:escucha|oye|entiende)\b|\bse (?:esta )?cort\w*"
             r"|\bse (?:escucha|oye) (?:muy |super |re |bien )?(?:mal|feo|bajito)\b|\bmala (?:senal|conexion)\b",
)
GREETING = _rules(
    I.GREETING, 0.85,
    quien=r"\bquien (?:habla|es|llama|me llama|son)\b|\bcon quien (?:hablo|tengo el gusto)\b"
          r"|\bde donde (?:me )?(?:llama|llaman|habla|hablan|es)\b|\bde parte de quien\b",
    alo=r"^(?:(?:si|alo|hola|aja|buenas|buenos|buen|dias|dia|tardes|noches|diga|digame) )*"
        r"(?:alo|hola|buenas|dias|tardes|noches|diga|digame)(?: si)?$",
)
GOODBYE = _rules(
    I.GOODBYE, 0.85,
    chao=r"\b(?:chao|chau|adios|hasta luego|hasta pronto|nos vemos|que este bien|que le vaya bien)\b",
)
_CONFIRM_START = re.compile(
    r"^(?:si|sip|sipo|aja|mhm|yo soy|ya|dale|claro|correcto|exacto|exactamente|bueno|ok|okey|oka|listo"
    r"|perfecto|efectivamente|de una|dele|hagale|bacan|joya"
    r"|afirmativo|obvio|seguro|sale|vale|eso|bien|conforme|hagamosle|de acuerdo|asi es|por supuesto"
    r"|esta bien|me parece)\b"
)
_DENY_RE = re.compile(r"^(?:no|nop|nopo|negativo|tampoco|para nada)\b|\bno (?:soy yo|esta|se encuentra)\b")
_FILLERS_RE = re.compile(r"^(?:(?:eh|em|ehm|mm+|ah|oh|ay|este|mire|oiga|oye|pucha|o sea) )+")


@dataclass(frozen=True)
class _Heard:
    """An utterance in the forms the rules need, and its entities."""

    text: str  # normalised
    accented: str
    prepared: str  # normalised, numbers in digits
    question: bool
    has_date: bool
    date_start: int
    has_entity: bool


def _first(rules: tuple[_Rule, ...], text: str) -> tuple[Intent, float, str] | None:
    for rule in rules:
        if rule.pattern.search(text):
            return rule.intent, rule.confidence, f"{rule.intent.value}:{rule.name}"
    return None


def _preceded_by(m: re.Match[str], words: frozenset[str]) -> bool:
    """Whether the verb ``m`` ends with comes right after one of ``words``, clitics aside
    ("que le pague", "no lo pagué"; not "no, ya pagué")."""
    return m[2] in words or (m[1] in words and m[2] in _CLITICS)


def _already_paid(h: _Heard) -> tuple[Intent, float, str] | None:
    for m in _PAST_ACCENTED.finditer(h.accented):
        if not _preceded_by(m, _NEGATION):  # "nunca pagué esa deuda" is no payment
            return I.ALREADY_PAID, 0.9, "already_paid:past_tense"
    for m in _PAST_PLAIN.finditer(h.text):
        if not _preceded_by(m, _SUBJUNCTIVE):
            return I.ALREADY_PAID, 0.75, "already_paid:past_tense_unaccented"
    return _first(ALREADY_PAID, h.text)


def _settles_later(h: _Heard, pays: bool) -> bool:
    """"Le pago el miércoles y quedamos al día": a promise that will settle the debt, not a payment made."""
    return pays and h.has_date and _first(ALREADY_PAID, h.text) is not None and not any(
        m for m in _PAST_ACCENTED.finditer(h.accented)) and _PAST_PLAIN.search(h.text) is None


def _cannot_pay(h: _Heard) -> tuple[Intent, float, str] | None:
    m = _CANNOT_PAY_RE.search(h.text)
    if m is None:
        return None
    if h.has_date and _BUT_THEN_RE.search(h.prepared[: h.date_start]):
        return I.PROMISE_TO_PAY, 0.7, "promise_to_pay:not_until"  # "no puedo hasta fin de mes"
    return I.CANNOT_PAY, 0.85, "cannot_pay:no_money"


def _yes_no(text: str) -> tuple[Intent, float, str] | None:
    text = _FILLERS_RE.sub("", text)
    if _DENY_RE.search(text):
        return I.DENY, 0.8, "deny:no"
    if _CONFIRM_START.search(text):
        return I.CONFIRM, 0.8, "confirm:yes"
    return None


def _decide(h: _Heard, rut: str | None) -> tuple[Intent, float, str]:
    s = h.text
    pays = _PAY_RE.search(s) is not None
    steps = (
        lambda: _first(STOP, s),
        lambda: _first(HUMAN, s),
        lambda: _already_paid(h) if not _settles_later(h, pays) else None,  # before dispute: "ya no debo
        # nada, pagué todo" is paid
        lambda: _first(DISPUTE, s),
        lambda: _first(WRONG_NUMBER, s),
        lambda: _first(CALLBACK_ASKED, s),
        lambda: (I.IDENTIFY, 0.9, "identify:rut") if rut else None,
        lambda: _cannot_pay(h),
        # "¿Y si le pago en tres cuotas? La primera el primero": with a pay verb and a day, an offer.
        lambda: _first(NEGOTIATE, s) if h.question and not (pays and h.has_date) else None,
        # "podemos repactar en doce cuotas": asking for an agreement, not offering a payment
        lambda: _first(_RENEGOTIATE, s) if not h.has_date else None,
        lambda: (I.PROMISE_TO_PAY, 0.9, "promise_to_pay:pay_with_details") if pays and h.has_entity else None,
        lambda: _first(LINK, s),
        lambda: _first(BUSY, s),
        lambda: _first(THIRD_PARTY, s),
        lambda: (I.PROMISE_TO_PAY, 0.5, "promise_to_pay:bare_details") if h.has_entity else None,
        lambda: _first(NEGOTIATE, s),
        lambda: _first(IDENTITY, s),
        lambda: _first(ASK_DEBT, s),
        # Asking about paying ("¿y si lo pago después?") without a day or an amount is not a promise.
        lambda: (I.NEGOTIATE, 0.5, "negotiate:pay_question") if pays and h.question else None,
        lambda: (I.PROMISE_TO_PAY, 0.6, "promise_to_pay:pay_verb") if pays else None,
        lambda: _first(REPEAT, s),
        lambda: _first(GREETING, s),
        lambda: _first(GOODBYE, s),
        lambda: _yes_no(s),
    )
    for step in steps:
        if (decided := step()) is not None:
            return decided
    return I.UNKNOWN, 0.0, "unknown"


def understand(text: str, now: datetime) -> Understanding:
    """The intent and entities of one caller utterance; dates relative to ``now`` (aware)."""
    normal = normalise(text)
    if not normal:
        return Understanding(I.UNKNOWN, 0.0, matched="empty")
    tokens = normal.split()
    prepared = " ".join(numerify(tokens))
    found = find_date(prepared, now.date())
    amount = amount_in(tokens)
    installments = installments_in(prepared)
    rut = rut_in(tokens)
    heard = _Heard(
        text=normal,
        accented=accented_words(text),
        prepared=prepared,
        question="?" in text,
        has_date=found is not None,
        date_start=found.start if found else 0,
        has_entity=found is not None or amount is not None or installments is not None,
    )
    intent, confidence, matched = _decide(heard, rut)
    promised, issue = promise_date_in(prepared, now.date()) if intent is I.PROMISE_TO_PAY else (None, "")
    return Understanding(
        intent=intent,
        confidence=confidence,
        promise_date=promised,
        date_issue=issue,
        amount=amount,
        installments=installments,
        callback_at=when_in(prepared, now) if intent is I.CALLBACK else None,
        rut=rut,
        matched=matched,
    )
