/* The dashboard's words and formats: Spanish labels for the API's enums, the one DOM builder, times,
 * durations, percentages and money. window.DashboardFormat, used by dashboard.js (loaded before it).
 * Text only ever goes in through textContent / DOM properties, never innerHTML.
 */
"use strict";
(() => {
  const OUTCOMES = { answered: "Contestada", busy: "Ocupado", no_answer: "Sin respuesta", voicemail: "Buzón de voz",
    failed: "Fallida", congestion: "Congestión", invalid_number: "Número inválido", silent: "Sin audio",
    in_progress: "En curso" };
  const RESULTS = { promise: "Promesa de pago", callback: "Volver a llamar", wrong_number: "Número equivocado",
    stop_calling: "No llamar más", payment_link: "Link de pago", transfer: "Transferida", already_paid: "Ya pagó",
    refused: "Se niega", dispute: "Disputa", cannot_pay: "No puede pagar", completed: "Completada", hung_up: "Colgó",
    interested: "Interesado", not_interested: "Sin interés" };
  // A sales lead's objections (agent/sales/cues.py OBJECTION_LABELS).
  const OBJECTIONS = { has_credit: "ya tiene un crédito", rate: "la tasa le parece alta", no_need: "no lo necesita",
    debt: "no quiere endeudarse", trust: "desconfía de la llamada", think: "lo quiere pensar",
    no_time: "no tiene tiempo ahora", no_interest: "no le interesa" };
  const STATES = { dialing: "Marcando", ringing: "Sonando", answered: "En conversación", ended: "Terminada" };
  const DIRECTIONS = { inbound: "Entrante", outbound: "Saliente" };
  const SENTIMENTS = { positive: "Positivo", neutral: "Neutral", negative: "Negativo" };
  const NEXT_ACTIONS = { schedule_meeting: "Agendar reunión", send_info: "Enviar información",
    follow_up_call: "Llamar de nuevo", close_deal: "Cerrar acuerdo", no_interest: "Sin interés" };
  const SECTIONS = { live: "Llamadas en curso", summary: "Indicadores", calls: "Llamadas recientes",
    followups: "Para atención humana", call: "Detalle de la llamada", followup: "Caso seleccionado",
    debtors: "Deudores", campaigns: "Campañas" };
  const label = (map, v) => (v == null || v === "" ? "–" : map[v] || String(v));

  /* ---------- DOM and formatting helpers ---------- */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v == null) continue;
      if (k === "text") node.textContent = String(v);
      else if (k === "class") node.className = v;
      else if (k === "testid") node.setAttribute("data-testid", v);
      else if (k === "data") Object.assign(node.dataset, v);
      else node[k] = v;
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  }
  const pad = (n) => String(n).padStart(2, "0");
  function clock(ms) {
    const s = Math.max(0, Math.floor(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? `${h}:${pad(m)}` : pad(m)) + `:${pad(s % 60)}`;
  }
  const duration = (s) => (s == null ? "–" : clock(s * 1000));
  const pct = (x) => (x == null ? "–" : new Intl.NumberFormat("es", { style: "percent", maximumFractionDigits: 1 }).format(x));
  const num = (x, d = 1) => new Intl.NumberFormat("es", { maximumFractionDigits: d }).format(x);
  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso), today = new Date().toDateString() === d.toDateString();
    const opts = today ? { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }
      : { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    return new Intl.DateTimeFormat("es", opts).format(d);
  }
  const day = (d) => (d ? new Intl.DateTimeFormat("es", { dateStyle: "medium", timeZone: "UTC" }).format(new Date(d)) : "–");
  let currency = null; // the operator's COST_CURRENCY, from the summary
  function money(v, small = false) {
    if (v == null) return "–";
    const digits = small ? { minimumFractionDigits: 2, maximumFractionDigits: 4 } : {};
    try { if (currency) return new Intl.NumberFormat("es", { style: "currency", currency, ...digits }).format(v); }
    catch (_) { /* unknown currency code: plain number below */ }
    return num(v, small ? 4 : 2) + (currency ? ` ${currency}` : "");
  }
  const badge = (text, kind, extra = {}) => el("span", { class: `badge ${kind || ""}`, text, ...extra });

  // Why the contact policy holds a debtor back, or why a job ended (campaigns/policy.py, campaigns/contacts.py).
  const REASONS = { ok: "se le puede llamar", callback: "llamada agendada", callback_requested: "pidió que lo llamen más tarde",
    all_phones_exhausted: "ningún teléfono contestó", waiting_for_human: "espera a una persona",
    open_promise: "tiene una promesa de pago vigente", daily_call_limit: "ya se le llamó las veces permitidas hoy",
    daily_contact_limit: "ya se habló con él hoy", wait_after_contact: "espera los días que pide la ley tras un contacto",
    weekly_contact_limit: "llegó al máximo de contactos de la semana", weekly_attempt_limit: "llegó al máximo de intentos de la semana",
    retry_delay_no_answer: "espera para reintentar tras no contestar", retry_delay_failure: "espera para reintentar tras una falla",
    outside_calling_hours: "fuera del horario permitido", asked_not_to_be_called: "pidió que no lo llamen",
    requeued_by_operator: "devuelto a la cola por un operador", lease_expired: "retomado tras caerse el marcador",
    reached: "contactado", promise_kept: "promesa cumplida", lead_already_reached: "ya escuchó la oferta" };
  const reasonText = (code) => {
    if (!code) return "–";
    if (REASONS[code]) return REASONS[code];
    if (RESULTS[code]) return RESULTS[code].toLowerCase();
    let m;
    if ((m = /^holiday: (.+)$/.exec(code))) return `feriado (${m[1]})`;
    if ((m = /^no_calls_on_(\w+)$/.exec(code))) return `no se llama los ${{ sunday: "domingos", saturday: "sábados" }[m[1]] || m[1]}`;
    if ((m = /^no_answer_on_(\d+)_days$/.exec(code))) return `sin respuesta en ${m[1]} días`;
    if ((m = /^failed_(\d+)_times_in_a_row$/.exec(code))) return `falló ${m[1]} veces seguidas`;
    return code;  // an operator's own words (an exclusion's reason)
  };

  // A sales lead in the ready-for-human queue: its interest, what to know first, what held it back.
  const leadFacts = (f) => (f.campaign_kind !== "sales" ? [] : [
    ["Interés", f.interest_score ? `${f.interest_score} de 5` : "–"],
    ["Puntos clave", (f.key_points || []).join("; ") || "–"],
    ["Objeciones", (f.objections || []).map((o) => OBJECTIONS[o] || o).join("; ") || "–"]]);

  /* What a call's panel lists about it, as [label, text] pairs. */
  const promiseFacts = (call) => (call.promise  // the debt's currency, not the cost's: a plain number
    ? [["Promesa", `$ ${num(call.promise.amount, 2)} para el ${day(call.promise.date)}`]] : []);
  const analysisFacts = (a) => (a ? [["Sentimiento", label(SENTIMENTS, a.sentiment)],
    ["Próxima acción", label(NEXT_ACTIONS, a.next_action)], ["Resumen", a.summary || "–"]] : []);
  // The caller's sentiment turn by turn, as scored during the call: "Neutral → Negativo (frustrado)".
  const turnFacts = (turns) => { const scored = (turns || []).filter((t) => t.sentiment);
    return scored.length ? [["Sentimiento por turno", scored.map((t) => label(SENTIMENTS, t.sentiment)
      + (t.frustrated ? " (frustrado)" : "")).join(" → ")]] : []; };
  // What the correction stage changed, so a supervisor can judge it: "oído → corregido", and its doubts.
  const correctionFacts = (turns) => (turns || []).filter((t) => t.heard_raw || (t.stt_doubts || []).length)
    .map((t) => [`Turno ${t.idx}: corrección`, (t.heard_raw ? `«${t.heard_raw}» → «${t.user_text}»` : t.user_text)
      + ((t.stt_doubts || []).length ? ` (dudas: ${t.stt_doubts.join("; ")})` : "")]);

  window.DashboardFormat = { OUTCOMES, RESULTS, STATES, DIRECTIONS, SENTIMENTS, NEXT_ACTIONS, SECTIONS, label,
    el, pad, clock, duration, pct, num, when, day, money, badge, reasonText,
    promiseFacts, analysisFacts, turnFacts, correctionFacts, leadFacts,
    setCurrency(code) { currency = code || null; } };
})();
