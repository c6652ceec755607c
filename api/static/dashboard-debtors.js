/* Debtors: find one by RUT, phone or name, see their page (why they are or are not called today,
 * promises, phones, calls, jobs and callbacks) and work them: mark a promise kept, requeue a job, put a
 * number on the do-not-call list, exclude. Uses dashboard.js's API helper (window.callcenterDashboard); untrusted
 * text only through textContent.
 *
 * Hooks for the browser tests:
 *   [data-testid=debtor-search] form, input [data-testid=debtor-q], [data-testid=debtor-search-submit]
 *   [data-testid=debtors] rows [data-testid=debtor-row][data-debtor-id]
 *   [data-testid=debtor-detail][data-state=loading|ready|error][data-loaded-id] with
 *     [data-testid=debtor-facts], [data-testid=debtor-why] > li[data-verdict],
 *     [data-testid=debtor-promises] > li[data-testid=promise][data-promise-id][data-status] with a
 *       button [data-testid=promise-kept], [data-testid=debtor-phones] > li[data-phone-id] with
 *       [data-testid=phone-dnc], [data-testid=debtor-calls] > li[data-call-id][data-waiting] with buttons
 *       [data-testid=call-open] (the call panel), [data-testid=call-reanalyse] and, for a call waiting for a
 *       person, select [data-testid=call-close-outcome] and [data-testid=call-close], [data-testid=debtor-error]
 */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const { el, money, when, day, label, reasonText, OUTCOMES, RESULTS } = window.DashboardFormat;
  const dash = () => window.callcenterDashboard;
  const enc = encodeURIComponent;
  const VERDICTS = { call: "Se le puede llamar", deferred: "Todavía no", excluded: "Excluido", failed: "Sin teléfonos",
    do_not_call: "No llamar", held: "En espera" };
  const JOB_STATES = { queued: "en cola", claimed: "marcando", done: "terminado", failed: "fallido",
    cancelled: "anulado" };
  const PROMISE_STATES = { open: "abierta", kept: "cumplida", broken: "incumplida", cancelled: "anulada" };
  let selected = null;

  async function search(e) {
    e.preventDefault();
    const q = $("debtor-q").value.trim();
    if (q.length < 2) return;
    try {
      const found = await dash().api(`/debtors?q=${enc(q)}`);
      dash().clearError("debtors");
      $("debtors-body").replaceChildren(...found.items.map((d) => {
        const tr = el("tr", { testid: "debtor-row", data: { debtorId: String(d.id) }, tabIndex: 0 },
          el("td", { text: d.full_name }), el("td", { text: d.national_id || "–" }),
          el("td", { text: d.company || "–" }), el("td", { class: "num", text: d.amount_owed == null ? "–" : money(d.amount_owed) }),
          el("td", { text: d.excluded_at ? `Excluido: ${d.exclusion_reason || ""}` : "Activo" }));
        tr.addEventListener("click", () => open(d.id));
        return tr;
      }));
      if (!found.items.length) $("debtors-body").replaceChildren(el("tr", {}, el("td", { colSpan: 5, class: "empty", text: "Sin resultados" })));
    } catch (err) { dash().showError("debtors", err); }
  }

  async function open(id) {
    selected = id;
    const panel = $("debtor-detail");
    panel.dataset.state = "loading";
    try {
      const d = await dash().api(`/debtors/${enc(id)}`);
      if (selected !== id) return;
      render(d);
      panel.dataset.state = "ready"; panel.dataset.loadedId = String(id);
    } catch (err) {
      panel.dataset.state = "error"; dash().showError("debtors", err);
    }
  }

  function render(d) {
    $("debtor-detail-empty").hidden = true; $("debtor-detail-body").hidden = false; $("debtor-error").hidden = true;
    const fact = (k, v) => [el("dt", { text: k }), el("dd", { text: v == null || v === "" ? "–" : String(v) })];
    $("debtor-facts").replaceChildren(...fact("Nombre", d.full_name), ...fact("RUT", d.national_id),
      ...fact("Empresa", d.company), ...fact("Deuda", d.amount_owed == null ? null : money(d.amount_owed)),
      ...fact("Vence", d.due_date ? day(d.due_date) : null), ...fact("Fecha máxima", d.max_date ? day(d.max_date) : null),
      ...fact("Estado", d.excluded_at ? `Excluido (${d.exclusion_reason || ""})` : "Activo"));
    $("debtor-why").replaceChildren(...(d.why_not_called.length ? d.why_not_called.map((w) => el("li",
      { data: { verdict: w.verdict }, text: `${w.campaign}: ${VERDICTS[w.verdict] || w.verdict} — ${reasonText(w.reason)}`
        + (w.not_before ? ` (hasta ${when(w.not_before)})` : "") + (w.law ? ` [${w.law}]` : "")
        + (w.campaign_status !== "active" ? ` · campaña ${w.campaign_status}` : "") }))
      : [el("li", { text: "No está en ninguna campaña." })]));
    $("debtor-promises").replaceChildren(...(d.promises.length ? d.promises.map((p) => {
      const li = el("li", { testid: "promise", data: { promiseId: String(p.id), status: p.status },
        text: `${money(p.amount)} para el ${day(p.date)}${p.installments > 1 ? ` en ${p.installments} cuotas` : ""} · `
          + `${PROMISE_STATES[p.status] || p.status}${p.settled_by ? ` (${p.settled_by})` : ""} ` });
      if (p.status === "open" || p.status === "broken") {
        li.append(action("Marcar cumplida", "promise-kept", `/promises/${p.id}/mark`, { status: "kept" },
          "Promesa marcada como cumplida"));
      }
      return li;
    }) : [el("li", { text: "Sin promesas." })]));
    $("debtor-phones").replaceChildren(...d.phones.map((ph) => {
      const li = el("li", { data: { phoneId: String(ph.id) },
        text: `${ph.e164} · ${ph.status}${ph.do_not_call ? ` · no llamar (${ph.do_not_call})` : ""} ` });
      if (!ph.do_not_call) {
        li.append(action("No llamar a este número", "phone-dnc", `/debtors/${d.id}/phones/${ph.id}/do-not-call`,
          { reason: "pedido desde el panel" }, "Número agregado a la lista de no llamar"));
      }
      return li;
    }));
    $("debtor-calls").replaceChildren(...(d.calls.length ? d.calls.map(callItem) : [el("li", { text: "Sin llamadas." })]));
    $("debtor-jobs").replaceChildren(...(d.jobs.length ? d.jobs.map((j) => {
      const li = el("li", { testid: "job", data: { jobId: String(j.id), state: j.state },
        text: `${j.campaign} · ${JOB_STATES[j.state] || j.state}${j.reason ? ` (${reasonText(j.reason)})` : ""}`
          + (j.callback_at ? ` · volver a llamar ${when(j.callback_at)}` : "") + " " });
      if (j.state !== "claimed" && !d.excluded_at) {
        li.append(action("Volver a la cola", "job-requeue", `/debtors/${d.id}/jobs/${j.id}/requeue`, undefined,
          "Trabajo de vuelta en la cola"));
      }
      return li;
    }) : [el("li", { text: "No está en ninguna campaña." })]));
    $("debtor-exclude").hidden = Boolean(d.excluded_at);
  }

  // A call: what came of it, its analysis; open it, analyse it again, and close the case a person owed it.
  function callItem(c) {
    const closedAs = [...$("close-outcome").options].find((o) => o.value === c.closed_outcome)?.text || c.closed_outcome;
    const li = el("li", { data: { callId: c.id, waiting: String(Boolean(c.waiting_for_person)) },
      text: `${when(c.created_at)} · ${label(OUTCOMES, c.outcome)} · ${label(RESULTS, c.result)}`
        + (c.interest_score ? ` · interés ${c.interest_score} de 5` : "") + (c.summary ? ` · ${c.summary}` : "")
        + (c.waiting_for_person ? " · espera a una persona" : c.closed_outcome ? ` · caso cerrado (${closedAs})` : "")
        + " " });
    const see = el("button", { type: "button", class: "btn btn-ghost small", text: "Ver", testid: "call-open" });
    see.addEventListener("click", () => dash().openCall(c.id));
    li.append(see, action("Analizar de nuevo", "call-reanalyse", `/calls/${enc(c.id)}/analysis`, undefined,
      "Análisis en cola: se actualiza en unos segundos"));
    if (c.waiting_for_person) {
      const outcome = el("select", { testid: "call-close-outcome", ariaLabel: "Resultado de la gestión" },
        ...[...$("close-outcome").options].map((o) => el("option", { value: o.value, text: o.text })));
      const close = el("button", { type: "button", class: "btn btn-ghost small", text: "Cerrar caso", testid: "call-close" });
      close.addEventListener("click", async () => {
        if (!outcome.value) { refused("elija el resultado de la gestión"); return; }
        close.disabled = true;
        try {
          await dash().api(`/followups/${enc(c.id)}/close`, { method: "POST", body: { outcome: outcome.value } });
          dash().toast("Caso cerrado"); dash().refresh();
          if (selected != null) await open(selected);
        } catch (err) { refused(err); close.disabled = false; }
      });
      li.append(outcome, close);
    }
    return li;
  }

  async function exclude() {
    const reason = $("debtor-exclude-reason").value.trim();
    const e = $("debtor-error");
    if (reason.length < 2) { e.textContent = "Escriba el motivo de la exclusión."; e.hidden = false; return; }
    try {
      const r = await dash().api(`/debtors/${enc(selected)}/exclude`, { method: "POST", body: { reason } });
      dash().toast(`Deudor excluido; ${r.jobs_cancelled} llamadas en cola anuladas`);
      $("debtor-exclude-reason").value = "";
      await open(selected);
    } catch (err) { refused(err); }
  }

  function refused(err) {
    const e = $("debtor-error");
    e.textContent = err.status === 403 ? "Su rol no permite esta acción." : `No se pudo: ${err}`;
    e.hidden = false;
  }

  function action(text, testid, path, body, done) {
    const button = el("button", { type: "button", class: "btn btn-ghost small", text, testid });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await dash().api(path, { method: "POST", body });
        dash().toast(done);
        if (selected != null) await open(selected);
      } catch (err) { refused(err); button.disabled = false; }
    });
    return button;
  }

  $("debtor-search").addEventListener("submit", search);
  $("debtor-exclude-submit").addEventListener("click", exclude);
})();
