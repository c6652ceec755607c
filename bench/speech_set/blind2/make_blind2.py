"""Generate the second blind spoken set: ``python -m bench.speech_set.blind2.make_blind2``.

48 collections utterances (16 Chilean, 16 Argentine, 16 Colombian) written blind: without reading the
first set's utterances or labels, the agent, the transcript corrections and vocabularies, or any test
table, so that accuracy measured on them was not tuned for. Mix: 18 carry an amount, 16 a date (4 of
them both), 4 a national id read aloud (two Chilean RUTs, an Argentine DNI, a Colombian cedula), the
rest are refusals, disputes, "ya pague", wrong numbers, callback requests, questions about the debt and
a few long rambling sentences. Six invented debtors (``F``). Reference date 2026-12-03 (a Thursday).

Labels follow the first set (``bench/speech_set/labels.json``): ``amounts`` in whole pesos, ``dates``
as ISO ``YYYY-MM-DD`` strings resolved against the reference date, ``rut`` as ``"12345678-5"`` for a
Chilean RUT and null otherwise (a DNI or cedula has no check digit and is not a RUT).

Rendering reuses the first set's functions (Kokoro with the Japanese style vectors fed Spanish IPA, or
espeak-ng for a robotic subset; then a telephone line: 8 kHz, G.711 mu-law), imported from
``bench.speech_set.make_set``. Only this script needs Kokoro; the bench reads the committed WAVs and
``labels.json`` (``python -m bench.stt_accuracy --set blind2``).
"""

from __future__ import annotations

import time

from bench.speech_set.blind2 import BLIND2
from bench.speech_set.make_set import render_set

HERE = BLIND2

# The debtors the calls are made to (invented).
F: dict[str, dict] = {
    "cl1": {"name": "Marisol Quiroga Henríquez", "company": "Tienda Andina", "balance": 347500,
            "installment": 57900, "due_date": "2026-11-20"},
    "cl2": {"name": "Hernán Fuentealba Soto", "company": "Crédito Austral", "balance": 1280000,
            "installment": 106700, "due_date": "2026-11-28"},
    "ar1": {"name": "Lucía Benedetti", "company": "Financiera del Plata", "balance": 412000,
            "installment": 68650, "due_date": "2026-11-15"},
    "ar2": {"name": "Nahuel Iturralde", "company": "Cuotas Pampa", "balance": 95300,
            "installment": 31800, "due_date": "2026-11-30"},
    "co1": {"name": "Yesenia Castañeda Rojas", "company": "Almacenes La Sabana", "balance": 2150000,
            "installment": 179000, "due_date": "2026-11-25"},
    "co2": {"name": "Wilmer Arbeláez", "company": "Crediexpress Caribe", "balance": 860000,
            "installment": 143500, "due_date": "2026-11-18"},
}

# (id, debtor, text as spoken, amounts in pesos, dates ISO, RUT). Region = the id's first two letters.
UTTERANCES: list[tuple[str, str, str, list[int], list[str], str | None]] = [
    # ---------------------------------------------------------------------------------------- Chile
    ("clb01", "cl2", "Ya po, le puedo abonar ciento veinte mil pesos al tiro, pero el resto no lo tengo.",
     [120000], [], None),
    ("clb02", "cl1", "Mire, tengo trescientas lucas no más, ¿me sirve eso para dejar la deuda al día?",
     [300000], [], None),
    ("clb03", "cl1", ("Le pago dos cuotas de cincuenta y siete mil novecientos el viernes, cachai, "
     "cuando me llegue el sueldo."), [57900], ["2026-12-04"], None),
    ("clb04", "cl2", "¿Cómo que debo un millón doscientos ochenta mil? Si yo pedí quinientos mil no más.",
     [1280000, 500000], [], None),
    ("clb05", "cl2", "Puedo depositarle ochenta y cinco mil pesos la otra semana, el martes.",
     [85000], ["2026-12-08"], None),
    ("clb06", "cl1", "Oiga, ¿y si le doy cuarenta lucas mensuales? Más no puedo, estoy sin pega.",
     [40000], [], None),
    ("clb07", "cl1", "Pasado mañana le pago, se lo juro, pero no me llame más hoy.", [], ["2026-12-05"], None),
    ("clb08", "cl2", "Al tiro no puedo, po, pero a fin de mes deposito sin falta.", [], ["2026-12-31"], None),
    ("clb09", "cl1", "El quince de diciembre me pagan, ahí le transfiero.", [], ["2026-12-15"], None),
    ("clb10", "cl2", "Llámeme el lunes en la mañana mejor, que ahora estoy manejando.", [], ["2026-12-07"], None),
    ("clb11", "cl2", ("Mi RUT es quince millones ochocientos treinta y dos mil cuatrocientos diecisiete, "
     "guion dos."), [], [], "15832417-2"),
    ("clb12", "cl1", "Ya, anote: nueve, seis cuatro uno, tres cero cinco, guion K.", [], [], "9641305-K"),
    ("clb13", "cl1", "No, señorita, aquí no vive ninguna Marisol, está equivocado de número.", [], [], None),
    ("clb14", "cl2", ("Yo ya pagué eso, tengo el comprobante de la transferencia, cachai, así que no me "
     "sigan llamando."), [], [], None),
    ("clb15", "cl2", ("Mire, la verdad es que me quedé sin pega hace rato y con los niños y el arriendo no "
     "me alcanza pa nada, po."), [], [], None),
    ("clb16", "cl1", "¿Y esa deuda de qué es? Yo nunca he comprado nada en Tienda Andina.", [], [], None),
    # ------------------------------------------------------------------------------------ Argentina
    ("arb01", "ar1", ("Che, te puedo pagar sesenta y ocho mil seiscientos cincuenta, que es la cuota, "
     "pero el resto no."), [68650], [], None),
    ("arb02", "ar1", "Mirá, tengo cien mil pesos ahora, si querés te los paso por transferencia.",
     [100000], [], None),
    ("arb03", "ar1", "¿Cuatrocientos doce mil? No, loco, eso está mal, yo debía como la mitad.",
     [412000], [], None),
    ("arb04", "ar2", "Te ofrezco tres cuotas de treinta y un mil ochocientos, ¿dale?", [31800], [], None),
    ("arb05", "ar2", "Vos me decís noventa y cinco mil trescientos, pero en la aplicación me figura menos.",
     [95300], [], None),
    ("arb06", "ar2", "El lunes te deposito veinte mil, es lo que puedo.", [20000], ["2026-12-07"], None),
    ("arb07", "ar1", "Llamame el miércoles a la tarde, ahora estoy laburando.", [], ["2026-12-09"], None),
    ("arb08", "ar2", "Yo cobro el diez, así que el diez de diciembre te pago seguro.", [], ["2026-12-10"], None),
    ("arb09", "ar1", "Dejame hasta el cinco de enero, che, que en diciembre no llego.", [], ["2027-01-05"], None),
    ("arb10", "ar2", "Mañana a primera hora voy al Rapipago y lo pago.", [], ["2026-12-04"], None),
    ("arb11", "ar1", "Mi DNI es treinta y dos millones cuatrocientos cinco mil setecientos dieciocho.",
     [], [], None),
    ("arb12", "ar2", "No, flaco, le pifiaste, acá no hay ningún Nahuel, este es el número de mi vieja.",
     [], [], None),
    ("arb13", "ar2", "Eso ya lo pagué, tengo el comprobante, fijate bien en el sistema, dale.", [], [], None),
    ("arb14", "ar1", ("No te voy a pagar nada, esa deuda es trucha y ya hice la denuncia en defensa del "
     "consumidor."), [], [], None),
    ("arb15", "ar1", ("Mirá, te cuento, me separé hace poco y quedé con todas las deudas de mi ex, así que "
     "estoy re complicado con la plata."), [], [], None),
    ("arb16", "ar2", "¿Y cuánto me sale si lo cancelo todo junto? ¿Tienen algún descuento o algo?", [], [], None),
    # ------------------------------------------------------------------------------------- Colombia
    ("cob01", "co1", ("Sumercé, yo le puedo dar ciento setenta y nueve mil, que es la cuota, pero más no "
     "tengo."), [179000], [], None),
    ("cob02", "co2", "Pues mire, yo tengo doscientos mil pesitos guardados, ¿eso le sirve?", [200000], [], None),
    ("cob03", "co1", "¿Dos millones ciento cincuenta mil? Eso no puede ser, parcero, yo saqué fue un millón.",
     [2150000, 1000000], [], None),
    ("cob04", "co2", "Le propongo cuatro cuotas de ciento cincuenta mil, ¿sí me entiende?", [150000], [], None),
    ("cob05", "co2", "Ya le consigné trescientos mil por Nequi, pues, revise bien.", [300000], [], None),
    ("cob06", "co1", "El sábado le pago setenta mil, que es lo que me sobra.", [70000], ["2026-12-05"], None),
    ("cob07", "co1", "Yo le pago en la quincena, o sea el quince, no antes, pues.", [], ["2026-12-15"], None),
    ("cob08", "co2", "Llámeme pasado mañana que hoy estoy en el trabajo, qué pena con usted.",
     [], ["2026-12-05"], None),
    ("cob09", "co1", "Hasta el treinta de diciembre no tengo plata, sumercé.", [], ["2026-12-30"], None),
    ("cob10", "co2", "El martes voy al banco y le hago el pago completo.", [], ["2026-12-08"], None),
    ("cob11", "co1", "Mi cédula es uno cero uno nueve, tres ocho cuatro, siete dos seis.", [], [], None),
    ("cob12", "co2", "No, mijo, aquí no es, usted está marcando a otro número, aquí no hay ningún Wilmer.",
     [], [], None),
    ("cob13", "co2", "Yo a ustedes no les debo nada, parcero, esa deuda ya prescribió, no me vuelva a llamar.",
     [], [], None),
    ("cob14", "co1", ("Vea, es que yo estuve enferma y no pude trabajar nada, entonces se me atrasó todo, "
     "pero yo sí quiero ponerme al día con ustedes."), [], [], None),
    ("cob15", "co2", "¿Me puede volver a llamar más tarde? Es que estoy en una reunión y no puedo hablar.",
     [], [], None),
    ("cob16", "co1", "¿Por qué me cobran tanto interés si yo solo me atrasé dos cuotas?", [], [], None),
]

ESPEAK_IDS = {"clb06", "clb14", "arb04", "arb13", "cob02", "cob15"}  # robotic stress subset
ESPEAK_ES_IDS = {"clb14", "cob02"}  # of those, espeak's Castilian "es" instead of "es-419"
ES_PHONEME_IDS = {"clb09", "arb08", "cob10", "cob13"}  # Kokoro fed Castilian IPA instead of es-419


def main() -> None:
    t0 = time.perf_counter()
    render_set(HERE, UTTERANCES, F, seed=20261207, espeak_ids=ESPEAK_IDS, espeak_es_ids=ESPEAK_ES_IDS,
               es_phoneme_ids=ES_PHONEME_IDS, speeds=[0.9, 0.95, 1.0, 1.0, 1.05, 1.1, 1.15])
    print(f"{len(UTTERANCES)} utterances rendered in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
