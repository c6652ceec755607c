"""Labelled Spanish utterances for the rule engine's understanding (`media.nlu.understand`).

Shared by the unit test (accuracy floor) and `bench.nlu_accuracy` (per-intent figures, timing).
The utterances were written as debtors in Chile, Argentina and Colombia say them and as Whisper
writes them (sometimes without accents, punctuation or capitals, with "..." where the voice
trailed off), before the rules were tuned; labels are what a human collector would record.
Cases the rules get wrong stay in the table: the benchmark lists them.

Every relative date is from ``NOW``, Monday 2026-11-23 10:00 in Santiago. An entity left as None
is not checked (the case is about the intent); a case is right when the intent and every entity
it names match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from media.nlu.intents import Intent

TZ = ZoneInfo("America/Santiago")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@dataclass(frozen=True)
class Case:
    text: str
    intent: Intent
    date: date | None = None
    amount: int | None = None
    installments: int | None = None
    callback: datetime | None = None
    rut: str | None = None


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


P, CB, H = Intent.PROMISE_TO_PAY, Intent.CALLBACK, Intent.HUMAN
WN, AP, SC = Intent.WRONG_NUMBER, Intent.ALREADY_PAID, Intent.STOP_CALLING
CP, DI, PL = Intent.CANNOT_PAY, Intent.DISPUTE, Intent.PAYMENT_LINK
CO, DE, RE, GR = Intent.CONFIRM, Intent.DENY, Intent.REPEAT, Intent.GREETING
NE, AD, ID, GB, UN = Intent.NEGOTIATE, Intent.ASK_DEBT, Intent.IDENTIFY, Intent.GOODBYE, Intent.UNKNOWN

CASES: list[Case] = [
    # --- Promises to pay: a pay verb with a date, an amount or a plan; or a bare answer to "¿cuándo?"
    Case("Pago el viernes.", P, date=d(11, 27)),
    Case("le puedo pagar cien lucas el 15", P, date=d(12, 15), amount=100_000),
    Case("Puedo abonar la mitad a fin de mes.", P, date=d(11, 30)),
    Case("Sí, el viernes le pago cincuenta mil.", P, date=d(11, 27), amount=50_000),
    Case("ya, le pago mañana", P, date=d(11, 24)),
    Case("voy a pagar el quince de diciembre", P, date=d(12, 15)),
    Case("El 30 le deposito.", P, date=d(11, 30)),
    Case("Le puedo transferir $104.050 el lunes.", P, date=d(11, 30), amount=104_050),
    Case("puedo pagar en tres cuotas", P, installments=3),
    Case("le pago en 3 cuotas de cuarenta lucas", P, installments=3),
    Case("Me comprometo a pagar la próxima semana.", P, date=d(11, 30)),
    Case("el sábado sin falta le hago la transferencia", P, date=d(11, 28)),
    Case("ahí le pago el 5 de diciembre", P, date=d(12, 5)),
    Case("pasado mañana le cancelo todo", P, date=d(11, 25)),
    Case("Podría pagar ciento cuatro mil cincuenta el día treinta.", P, date=d(11, 30), amount=104_050),
    Case("le abono 20 mil hoy mismo", P, date=d(11, 23), amount=20_000),
    Case("a principios del próximo mes le pago", P, date=d(12, 5)),
    Case("Che, te pago el jueves, quedate tranquilo.", P, date=d(11, 26)),
    Case("Le consigno el lunes", P, date=d(11, 30)),
    Case("le pago en dos pagos, uno ahora y otro a fin de mes", P, installments=2),
    Case("puedo pagar un palo el 15 de diciembre", P, date=d(12, 15), amount=1_000_000),
    Case("medio palo a fin de mes", P, date=d(11, 30), amount=500_000),
    Case("el quince", P, date=d(12, 15)),
    Case("Cincuenta mil pesos.", P, amount=50_000),
    Case("dos millones y medio en seis cuotas", P, amount=2_500_000, installments=6),
    Case("le pago cuando me paguen el sueldo", P),
    Case("no puedo pagar hasta fin de mes", P, date=d(11, 30)),
    Case("en dos semanas le pago", P, date=d(12, 7)),
    Case("Sí le voy a pagar, el 15/12 sin falta.", P, date=d(12, 15)),
    Case("le transfiero 150 lucas en tres días", P, date=d(11, 26), amount=150_000),
    Case("mañana te deposito quince mil pesos", P, date=d(11, 24), amount=15_000),
    Case("Voy a pagar el 15-12-2026.", P, date=d(12, 15)),
    Case("le pago el próximo viernes", P, date=d(11, 27)),
    Case("el 31 le pago", P, date=d(11, 30)),
    Case("yo le pago la otra semana", P, date=d(11, 30)),
    Case("le hago un abono de trescientos mil el miércoles", P, date=d(11, 25), amount=300_000),
    Case("Mire, le puedo pagar veintiún mil ahora y el resto la semana que viene.", P, amount=21_000),
    Case("le pago todo el primero de diciembre", P, date=d(12, 1)),
    Case("Ok, le pago $80.000 el viernes.", P, date=d(11, 27), amount=80_000),
    Case("pago mañana sin falta", P, date=d(11, 24)),
    Case("Puedo pagar a fin de mes, cuando me paguen.", P, date=d(11, 30)),
    Case("le cancelo la deuda entera el 10", P, date=d(12, 10)),
    Case("te pago 30 lucas el lunes boludo", P, date=d(11, 30), amount=30_000),
    Case("le transfiero al tiro", P, date=d(11, 23)),
    Case("ya po el viernes le pago", P, date=d(11, 27)),
    Case("eh... el viernes... le pago el viernes", P, date=d(11, 27)),
    Case("envíeme el link y el viernes le pago", P, date=d(11, 27)),
    Case("un millón doscientos mil en cuatro cuotas", P, amount=1_200_000, installments=4),
    Case("Te pago el finde.", P, date=d(11, 28)),
    Case("mil quinientos pesos mañana", P, date=d(11, 24), amount=1_500),
    Case("le pago 104050 el 15 de enero", P, date=d(1, 15, 2027), amount=104_050),
    Case("le puedo pagar dos palos en diciembre", P, amount=2_000_000),
    Case("ahora no puedo pagar pero el viernes sí", P, date=d(11, 27)),
    # --- Call me back: an explicit "llámeme", or "not now" (busy, driving, in a meeting)
    Case("llámeme la próxima semana", CB, callback=t(11, 30, 10)),
    Case("ahora no puedo, estoy manejando", CB),
    Case("¿Me puede llamar más tarde?", CB, callback=t(11, 23, 12)),
    Case("llámeme el viernes", CB, callback=t(11, 27, 10)),
    Case("Estoy en una reunión, llámeme en una hora.", CB, callback=t(11, 23, 11)),
    Case("Llámame mañana en la mañana.", CB, callback=t(11, 24, 9)),
    Case("el lunes a las tres de la tarde me puede llamar", CB, callback=t(11, 30, 15)),
    Case("estoy trabajando, llame después de las seis", CB, callback=t(11, 23, 18)),
    Case("no es buen momento", CB),
    Case("puede llamarme en la tarde", CB, callback=t(11, 23, 15)),
    Case("¿Me podría volver a llamar a las 4?", CB, callback=t(11, 23, 16)),
    Case("Ahora estoy ocupada, hablamos después.", CB),
    Case("vuelva a llamar mañana a las 10", CB, callback=t(11, 24, 10)),
    Case("Llamame en media hora que estoy en el subte", CB, callback=t(11, 23, 10, 30)),
    Case("ando manejando, llámeme más rato", CB, callback=t(11, 23, 12)),
    Case("en este momento no puedo hablar", CB),
    Case("llámeme pasado mañana a las once", CB, callback=t(11, 25, 11)),
    Case("no puedo atender ahora, llámeme el jueves", CB, callback=t(11, 26, 10)),
    Case("estoy en el trabajo, ¿me llamás a la tarde?", CB, callback=t(11, 23, 15)),
    Case("¿Puede llamar en otro momento?", CB),
    Case("estoy conduciendo", CB),
    Case("Llámeme a las 10 y media.", CB, callback=t(11, 23, 10, 30)),
    Case("Ahora no, mejor mañana.", CB, callback=t(11, 24, 10)),
    Case("llameme mas tarde que estoy manejando", CB, callback=t(11, 23, 12)),
    Case("No puedo hablar, estoy manejando, llámeme a las seis.", CB, callback=t(11, 23, 18)),
    Case("me agarraste en el laburo, llamame después de las 7", CB, callback=t(11, 23, 19)),
    # --- A person, not the machine
    Case("quiero hablar con una persona", H),
    Case("Páseme con un ejecutivo.", H),
    Case("con un humano", H),
    Case("¿Puedo hablar con un supervisor?", H),
    Case("comuníqueme con un asesor por favor", H),
    Case("no quiero hablar con una máquina", H),
    Case("¿Eres un robot? Quiero una persona real.", H),
    Case("pasame con alguien de verdad", H),
    Case("necesito hablar con un operador", H),
    Case("quiero que me atienda una persona", H),
    # --- Wrong number
    Case("número equivocado", WN),
    Case("aquí no vive ninguna María", WN),
    Case("no conozco a esa persona", WN),
    Case("Se equivocó de número.", WN),
    Case("acá no hay ningún Juan Pérez", WN),
    Case("este número es mío hace como tres años, no conozco a ese señor", WN),
    Case("equivocado", WN),
    Case("no, aquí no es, está equivocado", WN),
    Case("Esa persona no vive acá.", WN),
    Case("no sé quién es esa persona", WN),
    Case("no no conozco a ningun pedro gonzalez", WN),
    # --- Already paid
    Case("ya pagué", AP),
    Case("pagué la semana pasada", AP),
    Case("eso ya está pagado", AP),
    Case("Ya la cancelé en el banco.", AP),
    Case("ya hice la transferencia ayer", AP),
    Case("pague ayer en la sucursal", AP),
    Case("Ya pagué, tengo el comprobante.", AP),
    Case("la deuda está pagada desde octubre", AP),
    Case("mi esposo ya pagó eso", AP),
    Case("ya deposité el lunes pasado", AP),
    Case("ya lo pague todo", AP),
    Case("Yo ya estoy al día.", AP),
    Case("no, ya pagué", AP),
    Case("sí, pagué ayer", AP),
    # --- Stop calling
    Case("no me vuelvan a llamar", SC),
    Case("dejen de llamarme", SC),
    Case("bórrenme de su lista", SC),
    Case("No me llamen más, por favor.", SC),
    Case("Sáquenme de la base de datos.", SC),
    Case("dejen de molestar, todos los días llaman", SC),
    Case("no quiero que me sigan llamando", SC),
    Case("no me llames nunca más", SC),
    Case("les voy a denunciar al sernac si me siguen llamando", SC),
    Case("no, no me vuelvan a llamar", SC),
    # --- Cannot pay
    Case("no tengo plata", CP),
    Case("estoy sin trabajo", CP),
    Case("no puedo pagar", CP),
    Case("Ahora no puedo pagar nada, me quedé cesante.", CP),
    Case("estoy sin pega", CP),
    Case("no me alcanza la plata este mes", CP),
    Case("no tengo un mango", CP),
    Case("Estoy sin laburo, no puedo.", CP),
    Case("la verdad no tengo con qué pagar", CP),
    Case("perdí mi trabajo y tengo tres hijos", CP),
    Case("estoy enfermo, no estoy trabajando", CP),
    Case("no voy a poder pagar este mes", CP),
    Case("ya, pero ahora no puedo pagar", CP),
    # --- Dispute
    Case("esa deuda no es mía", DI),
    Case("no reconozco esa deuda", DI),
    Case("Yo nunca saqué esa tarjeta.", DI),
    Case("yo no le debo nada a ese banco", DI),
    Case("eso es un error, nunca he sido cliente de ustedes", DI),
    Case("Esa deuda ya prescribió.", DI),
    Case("no tengo ninguna deuda con ustedes", DI),
    Case("Debe ser un fraude, me robaron el carnet.", DI),
    Case("ese monto no corresponde", DI),
    # --- How to pay
    Case("mándeme el link", PL),
    Case("envíeme el enlace por whatsapp", PL),
    Case("¿Me puede mandar los datos para transferir?", PL),
    Case("mandame el link al correo", PL),
    Case("¿Cómo puedo pagar?", PL),
    Case("¿Dónde puedo pagar?", PL),
    Case("pásame el número de cuenta", PL),
    # --- Negotiation
    Case("¿Puedo pagar en cuotas?", NE),
    Case("¿Me pueden hacer un descuento?", NE),
    Case("¿Hay alguna rebaja si pago todo junto?", NE),
    Case("quiero repactar la deuda", NE),
    Case("¿No me pueden dar más plazo?", NE),
    Case("¿Tienen algún convenio de pago?", NE),
    Case("¿me la pueden refinanciar?", NE),
    Case("¿Puedo pagar en tres cuotas?", NE, installments=3),
    # --- Questions about the debt
    Case("¿Cuánto debo?", AD),
    Case("¿De qué es la deuda?", AD),
    Case("¿Y cuánto sería el total?", AD),
    Case("¿cuánto es lo que debo?", AD),
    Case("¿Por qué me están cobrando?", AD),
    Case("¿cuál es el monto?", AD),
    # --- The RUT, in words or digits
    Case("mi rut es doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho guion cinco", ID,
         rut="12345678-5"),
    Case("12.345.678-5", ID, rut="12345678-5"),
    Case("Mi RUT es 9.876.543-K.", ID, rut="9876543-K"),
    Case("el rut es quince millones ochocientos mil doscientos tres guion k", ID, rut="15800203-K"),
    Case("sí, 7654321-0", ID, rut="7654321-0"),
    Case("uno cinco ocho cero cero dos cero tres guion k", ID, rut="15800203-K"),
    Case("dieciséis millones cuatrocientos mil ciento veinte raya nueve", ID, rut="16400120-9"),
    # --- Say that again
    Case("¿Cómo?", RE),
    Case("no le escuché", RE),
    Case("¿Qué dijo?", RE),
    Case("perdón, ¿me puede repetir?", RE),
    Case("no se escucha bien, se está cortando", RE),
    Case("¿Qué?", RE),
    Case("disculpe no le entendi", RE),
    # --- Greetings and "who is this?"
    Case("aló", GR),
    Case("¿quién habla?", GR),
    Case("Aló, ¿sí?", GR),
    Case("buenas tardes", GR),
    Case("¿De dónde me llaman?", GR),
    Case("hola quien es", GR),
    Case("¿Con quién hablo?", GR),
    # --- Yes
    Case("sí", CO),
    Case("sí, soy yo", CO),
    Case("correcto", CO),
    Case("ya", CO),
    Case("dale", CO),
    Case("ya po", CO),
    Case("Sí, con él habla.", CO),
    Case("claro que sí", CO),
    Case("Exacto.", CO),
    Case("si señorita", CO),
    Case("bueno", CO),
    Case("okey", CO),
    Case("de acuerdo", CO),
    Case("listo", CO),
    Case("Sí, sí, soy yo.", CO),
    Case("Eso, así es.", CO),
    Case("sí, soy yo, ¿de qué se trata?", CO),
    # --- No
    Case("no", DE),
    Case("no soy yo", DE),
    Case("no está", DE),
    Case("No, no se encuentra.", DE),
    Case("no, salió", DE),
    Case("no po", DE),
    Case("No, gracias.", DE),
    Case("negativo", DE),
    Case("él no está, está trabajando", DE),
    Case("no, yo soy la hermana", DE),
    # --- Goodbye
    Case("chao", GB),
    Case("ya, gracias, hasta luego", GB),
    Case("Adiós.", GB),
    # --- Nothing to act on (including Whisper's hallucinations on silence)
    Case("Subtítulos realizados por la comunidad de Amara.org", UN),
    Case("...", UN),
    Case("está lloviendo mucho acá", UN),
    Case("mmm", UN),
    Case("¡Gracias por ver el video!", UN),
    Case("el gato se subió al techo", UN),
    Case("", UN),
]
