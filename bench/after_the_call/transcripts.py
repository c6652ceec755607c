"""Generated Spanish collections transcripts of 6-20 lines, and the analysis input built from one."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from analysis import AnalysisInput, CallFacts, RegisteredPromise, Utterance

AMOUNTS = ("cincuenta mil", "veinte mil pesos", "$30.000", "100.000 pesos", "cuarenta y cinco mil", "15 mil",
           "setenta mil pesos", "$ 80.000", "doscientos mil", "la mitad, unos sesenta mil", "25.000", "ciento veinte mil")
DATES = ("el viernes", "el quince de diciembre", "mañana", "el 5 de enero", "el lunes", "pasado mañana",
         "el 30 de este mes", "el sábado", "la próxima semana", "el 10", "el jueves en la tarde", "el primero")
COMPANIES = ("Natura", "Banco Estado", "Ripley", "Falabella", "Entel", "Movistar")
AGENT_NAMES = ("Sofía", "Camila", "Valentina")

IDENTITY = ("Sí, soy yo.", "Sí, con él habla.", "Aló, sí, ella habla.", "Sí, dígame.", "¿Quién habla?",
            "Sí, ¿de parte de quién?", "Él habla, ¿qué necesita?", "Aló... sí, soy yo.")
PROMISE = ("Le pago {amount} {date}.", "Puedo pagar {amount} {date}.", "{Date} le deposito {amount}.",
           "Ya, le transfiero {amount} {date} sin falta.", "Mire, {date} me pagan y le abono {amount}.",
           "Le puedo pagar {amount} {date}, por transferencia.", "Bueno, {date} pago {amount} en la sucursal.",
           "Me comprometo a pagar {amount} {date}.")
PROMISE_FOLLOW = ("Sí, {date} sin falta.", "Ya, quedamos así entonces.", "Sí, le confirmo, {amount}.",
                  "Perfecto, ¿me manda el link por WhatsApp?", "Bueno, gracias.")
REFUSAL = ("No voy a pagar nada.", "No me interesa, gracias.", "No les pienso pagar, que me demanden.",
           "Olvídese, no pago.", "No tengo nada que pagar, no me llamen más.", "No quiero pagar, esa empresa es un robo.")
ALREADY_PAID = ("Ya pagué eso la semana pasada.", "Eso ya lo pagué, tengo el comprobante.",
                "Yo pagué en la sucursal el lunes.", "Ya está pagado, revisen bien por favor.",
                "Pagué hace como diez días por transferencia.")
HUMAN = ("Quiero hablar con una persona.", "Páseme con un ejecutivo, por favor.",
         "¿Me puede comunicar con un supervisor?", "No quiero hablar con una máquina, quiero una persona.",
         "Prefiero hablar con alguien de carne y hueso.")
CALLBACK = ("Estoy manejando, llámeme más tarde.", "Llámeme mañana a las cinco.",
            "Ahora no puedo, ¿me llama el lunes en la tarde?", "Estoy en el trabajo, llámeme después de las seis.",
            "Estoy en una reunión, ¿me puede llamar en una hora?")
CANNOT_PAY = ("Estoy sin trabajo, no tengo plata.", "Me despidieron hace dos meses, no puedo pagar.",
              "No me alcanza, tengo otras deudas.", "Estuve enfermo, no he podido pagar nada.",
              "Lamentablemente ahora no tengo cómo pagar.")
NEGOTIATE = ("¿Puedo pagar en cuotas?", "¿Me pueden hacer un descuento?",
             "¿Y si pago la mitad ahora y el resto el otro mes?", "¿Hay alguna repactación?",
             "¿Me pueden bajar los intereses?")
DISPUTE = ("Esa deuda no es mía.", "Yo nunca compré nada en esa tienda.",
           "Ese monto está mal, yo debía mucho menos.", "No reconozco esa deuda, debe ser un error.")
FRUSTRATION = ("¡Hasta cuándo me llaman! Todos los días me llaman.", "Ya les dije que no, estoy harto.",
               "Voy a poner un reclamo en el Sernac.", "¿Cuántas veces tengo que decirlo?")
WRONG = ("Número equivocado, aquí no vive nadie con ese nombre.", "No conozco a esa persona, se equivocó.",
         "No, este número es de otra persona hace años.")
THIRD = ("No está, soy su hija, le dejo el recado.", "Salió, soy la esposa, ¿quiere que le diga algo?",
         "No se encuentra, soy su hermano.")
FILLER = ("Ajá.", "Sí.", "Ya.", "¿Cuánto es lo que debo?", "¿Me puede repetir?", "No le escucho bien.",
          "Mmm, déjeme ver.", "¿De qué empresa me dijo?", "Bueno.", "Ok, ¿y por dónde pago?",
          "¿Me manda el detalle por correo?", "Sí, sí, entiendo.", "¿Y eso desde cuándo?", "Espere un momento.")
GOODBYE = ("Gracias, hasta luego.", "Chao.", "Ya, adiós.", "Bueno, gracias, que esté bien.")

AGENT_OPEN = ("Hola, le habla {agent} de {company}. ¿Hablo con la persona titular?",
              "Buenos días, mi nombre es {agent}, llamo de parte de {company}. ¿Me comunico con el titular?",
              "Buenas tardes, le saluda {agent}, asistente de cobranza de {company}. ¿Hablo con el titular?")
AGENT_DEBT = ("Le llamo por su saldo pendiente de {owed} pesos con {company}, vencido hace {days} días.",
              "Registramos una deuda de {owed} pesos con {company}. ¿Cuándo podría realizar el pago?",
              "Tiene un monto pendiente de {owed} pesos. ¿Podemos acordar una fecha de pago?")
AGENT_MIDDLE = ("Entiendo.", "¿Cuándo podría realizar el pago?", "¿Me confirma la fecha y el monto?",
                "Le puedo ofrecer pagar en cuotas.", "Puede pagar por transferencia o en cualquier sucursal.",
                "El monto total adeudado es de {owed} pesos.", "Comprendo su situación.",
                "Disculpe, ¿me repite?", "La deuda es con {company}, por {owed} pesos.")
# What the agent says right after the caller's core line, by the pool that line came from.
AGENT_REPLY = {
    "PROMISE": ("Perfecto, queda registrado su compromiso de pago de {amount} {date}.",
                "Muy bien, le envío el link de pago por SMS para {date}."),
    "REFUSAL": ("Entiendo. Le recuerdo que la deuda sigue vigente.", "Comprendo. Dejo registrada su respuesta."),
    "ALREADY_PAID": ("¿Me puede enviar el comprobante al correo para verificarlo?",
                     "Gracias, lo vamos a revisar con el área de pagos."),
    "HUMAN": ("Lo comunico con un ejecutivo, un momento por favor.", "Le transfiero con una persona del equipo."),
    "CALLBACK": ("Perfecto, lo llamamos entonces.", "De acuerdo, agendo la llamada."),
    "CANNOT_PAY": ("Comprendo su situación. ¿Podría abonar un monto menor?", "Lamento escuchar eso."),
    "NEGOTIATE": ("Podemos ofrecerle hasta seis cuotas.", "Eso lo tiene que evaluar un ejecutivo."),
    "DISPUTE": ("Vamos a revisar el origen de la deuda y lo contactamos.",),
    "FRUSTRATION": ("Disculpe las molestias.", "Lamento la insistencia, tomo nota."),
    "WRONG": ("Disculpe la molestia, actualizamos el registro.",),
    "THIRD": ("Gracias, ¿le puede pedir que nos devuelva la llamada?",),
}
AGENT_CLOSE = ("Gracias por su tiempo, que tenga buen día.", "Muchas gracias, hasta luego.",
               "Quedamos atentos. Que tenga una buena tarde.")

POOLS = {"PROMISE": PROMISE, "PROMISE_FOLLOW": PROMISE_FOLLOW, "REFUSAL": REFUSAL, "ALREADY_PAID": ALREADY_PAID,
         "HUMAN": HUMAN, "CALLBACK": CALLBACK, "CANNOT_PAY": CANNOT_PAY, "NEGOTIATE": NEGOTIATE, "DISPUTE": DISPUTE,
         "FRUSTRATION": FRUSTRATION, "WRONG": WRONG, "THIRD": THIRD}
# scenario -> (weight, the caller's core lines (a pool each, in order), the agent's result, registered promise share)
SCENARIOS: dict[str, tuple[int, tuple[str, ...], str | None, float]] = {
    "promise": (28, ("PROMISE", "PROMISE_FOLLOW"), "promise", 0.5),
    "negotiate_then_promise": (6, ("NEGOTIATE", "PROMISE"), "promise", 0.5),
    "refusal": (10, ("REFUSAL",), "refused", 0.0),
    "already_paid": (9, ("ALREADY_PAID",), "already_paid", 0.0),
    "asks_for_person": (9, ("HUMAN",), "transfer", 0.0),
    "callback": (12, ("CALLBACK",), "callback", 0.0),
    "cannot_pay": (9, ("CANNOT_PAY",), "cannot_pay", 0.0),
    "negotiate": (6, ("NEGOTIATE", "NEGOTIATE"), None, 0.0),
    "dispute": (4, ("DISPUTE",), "dispute", 0.0),
    "frustrated": (3, ("FRUSTRATION", "REFUSAL"), "refused", 0.0),
    "wrong_number": (2, ("WRONG",), "wrong_number", 0.0),
    "third_party": (2, ("THIRD",), None, 0.0),
}


@dataclass(frozen=True, slots=True)
class Transcript:
    scenario: str
    lines: tuple[tuple[str, str], ...]  # (speaker, text)
    result: str | None  # what the agent's tools recorded, when the generator says it did
    promise: tuple[date, Decimal] | None  # a registered promise


def _fill(template: str, facts: dict[str, str]) -> str:
    return template.format(**facts)


def make_transcript(rnd: random.Random, call_day: date, *, with_facts: bool = True) -> Transcript:
    """One call of 6-20 lines, agent and caller taking turns, the agent first; one amount, one date."""
    names = list(SCENARIOS)
    scenario = rnd.choices(names, weights=[SCENARIOS[n][0] for n in names])[0]
    _, core_pools, result, registered_share = SCENARIOS[scenario]
    day = rnd.choice(DATES)
    facts = {"amount": rnd.choice(AMOUNTS), "date": day, "Date": day[:1].upper() + day[1:],
             "owed": f"{rnd.randrange(30, 900) * 1000:,}".replace(",", "."), "company": rnd.choice(COMPANIES),
             "days": str(rnd.randrange(5, 120)), "agent": rnd.choice(AGENT_NAMES)}
    total = rnd.randint(6, 20)
    slots = total // 2  # agent at even indices, caller at odd ones
    # (caller text, the pool it came from: the agent's reply follows it)
    core = [(_fill(rnd.choice(POOLS[name]), facts), name) for name in core_pools]
    goodbye = [(rnd.choice(GOODBYE), None)] if total % 2 == 0 and slots >= len(core) + 2 else []
    fillers: list[tuple[str, str | None]] = [(rnd.choice(FILLER), None)
                                             for _ in range(max(slots - 1 - len(core) - len(goodbye), 0))]
    if fillers and rnd.random() < 0.1:  # now and then an upset caller in a call about something else
        fillers[0] = (rnd.choice(FRUSTRATION), "FRUSTRATION")
    split = len(fillers) // 2  # the core in the second half: greetings and questions first
    caller = ([(_fill(rnd.choice(IDENTITY), facts), None)] + fillers[:split] + core + fillers[split:])
    caller = caller[:slots - len(goodbye)] + goodbye
    lines: list[tuple[str, str]] = []
    for i in range(total):
        if i % 2:
            lines.append(("caller", caller[i // 2][0]))
            continue
        reply = caller[i // 2 - 1][1] if i >= 2 else None
        if i == 0:
            text = rnd.choice(AGENT_OPEN)
        elif i == 2:
            text = rnd.choice(AGENT_DEBT)
        elif i >= total - 2:
            text = rnd.choice(AGENT_CLOSE)
        elif reply in AGENT_REPLY:
            text = rnd.choice(AGENT_REPLY[reply])
        else:
            text = rnd.choice(AGENT_MIDDLE)
        lines.append(("agent", _fill(text, facts)))
    recorded = result if with_facts and rnd.random() < 0.7 else None  # the agent's tool did not always run
    promise = None
    if with_facts and recorded == "promise" and rnd.random() < registered_share:
        promise = (call_day + timedelta(days=rnd.randrange(1, 30)), Decimal(rnd.randrange(10, 200) * 1000))
    return Transcript(scenario, tuple(lines), recorded, promise)


def analysis_input(t: Transcript, call_at: datetime, delinquency_type: str = "temprana") -> AnalysisInput:
    promise = None if t.promise is None else RegisteredPromise(*t.promise)
    facts = CallFacts(call_at=call_at, result=t.result, promise=promise, delinquency_type=delinquency_type)
    return AnalysisInput(facts, tuple(Utterance(s, text, i * 3000) for i, (s, text) in enumerate(t.lines)))
