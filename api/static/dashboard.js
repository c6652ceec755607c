/* Supervisor dashboard: vanilla ES2020, no framework, no external URLs (labels, formats and what a
 * panel lists about a call in dashboard-format.js; the hourly chart and the waves' bars in
 * dashboard-chart.js). Served by the operator API at
 * GET /dashboard (the HTML) and /dashboard/static/<file>; every API call sends the token as
 * `Authorization: Bearer`. The token comes from #token=... in the address (read, stored in
 * sessionStorage, removed from the address bar) or from the login form. Untrusted text is only ever
 * set through textContent / DOM properties, never innerHTML.
 *
 * Hooks for the browser test (tests/browser.py), stable across restyling:
 *   [data-testid=login-view|login-form|login-username|login-password|login-token|login-submit|login-error]
 *       the login form (a user and password, or an integration's token; hidden when in)
 *   [data-testid=who] the operator and role once in
 *   [data-testid=app-view]          the dashboard; [data-testid=logout] button "Salir"
 *   [data-testid=error-banner]      visible API errors, one [data-testid=error-line] each ("Sección: mensaje (HTTP n)")
 *   [data-testid=toast]             confirmations, e.g. "Caso cerrado"
 *   [data-testid=last-updated]      "Actualizado HH:MM:SS" after each live refresh
 *   [data-testid=kpi-calls|kpi-contact-rate|kpi-promise-rate|kpi-latency|kpi-cost|kpi-calls-per-hour]
 *   [data-testid=live-calls] table; rows [data-testid=live-call-row][data-call-id][data-state]; live-count
 *   [data-testid=waves] > [data-testid=wave][data-wave-id] (bar + "done de total")
 *   [data-testid=hourly-chart] > svg > g[data-testid=chart-bar][data-hour][data-total] > rect[data-outcome]
 *       (drawn by dashboard-chart.js)
 *   [data-testid=hourly-legend] > [data-testid=legend-item][data-outcome]
 *   [data-testid=recent-calls] rows [data-testid=call-row][data-call-id] (click to open), cells
 *       [data-testid=call-outcome][data-outcome] and [data-testid=call-result][data-result]
 *   [data-testid=call-detail][data-state=loading|ready|error][data-loaded-id=<call id>] containing
 *       [data-testid=call-facts], [data-testid=transcript] > [data-testid=transcript-line][data-speaker]
 *       (children .ts "mm:ss", .who, .text, optional .tag "interrumpido"),
 *       audio[data-testid=recording-audio][data-state=loading|ready|none|error] (src "blob:..." when ready),
 *       [data-testid=recording-note]
 *   [data-testid=followups] rows [data-testid=followup-row][data-attempt-id] in the API's order; followup-count
 *   [data-testid=followup-detail] same attributes/children as call-detail, plus the form
 *       [data-testid=followup-close-form] with select [data-testid=followup-outcome],
 *       textarea [data-testid=followup-notes], optional input [data-testid=followup-by] (sent as "by" when filled),
 *       [data-testid=followup-close-submit], [data-testid=followup-close-error]
 *   Sections get data-loaded="true" after their first successful load (empty tables included).
 *   window.callcenterDashboard.refresh() polls every section now (instead of waiting for the timers).
 */
"use strict";
(() => {
  const API = document.body.dataset.apiBase || "/api/v1";
  const TOKEN_KEY = "callcenter.apiToken", BY_KEY = "callcenter.closedBy";
  const EVERY = { live: 3000, summary: 30000, calls: 10000, followups: 15000 };
  const HOURS = 24;
  const $ = (id) => document.getElementById(id);

  const { OUTCOMES, RESULTS, STATES, DIRECTIONS, SENTIMENTS, NEXT_ACTIONS, SECTIONS, label,
    el, pad, clock, duration, pct, num, when, money, badge, setCurrency,
    promiseFacts, analysisFacts, turnFacts, correctionFacts, leadFacts } = window.DashboardFormat;

  /* ---------- token ---------- */
  function takeTokenFromFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (!params.has("token")) return;
    const token = params.get("token");
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
  }

  /* ---------- API ---------- */
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
    toString() { return this.status ? `${this.message} (HTTP ${this.status})` : this.message; }
  }
  async function api(path, { method = "GET", body, blob = false, form } = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) { signOut("Ingrese el token de acceso."); throw new ApiError(401, "sin token"); }
    const headers = { Authorization: `Bearer ${token}`, Accept: blob ? "audio/*" : "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";  // a FormData sets its own
    let res;
    try {
      res = await fetch(API + path, { method, headers, cache: "no-store", credentials: "omit",
        body: form !== undefined ? form : body === undefined ? undefined : JSON.stringify(body) });
    } catch (_) { throw new ApiError(0, "No se pudo conectar con el servidor"); }
    if (!res.ok) {
      let message = res.statusText || "error";
      try { const j = await res.json(); if (j && j.error && j.error.message) message = String(j.error.message); }
      catch (_) { /* not JSON: keep the status text */ }
      if (res.status === 401) signOut(`El servidor rechazó el token: ${message}`);
      throw new ApiError(res.status, message);
    }
    return blob ? res.blob() : res.json();
  }
  const enc = encodeURIComponent;

  /* ---------- errors and toast ---------- */
  const errors = new Map();
  function renderErrors() {
    const banner = $("error-banner");
    banner.replaceChildren(...[...errors].map(([k, e]) =>
      el("div", { testid: "error-line", text: `${SECTIONS[k] || k}: ${e}` })));
    banner.hidden = errors.size === 0;
  }
  function showError(key, err) {
    if (err instanceof ApiError && err.status === 401) return; // the login form says it
    errors.set(key, err instanceof ApiError ? err.toString() : String(err && err.message || err));
    renderErrors();
  }
  function clearError(key) { if (errors.delete(key)) renderErrors(); }
  let toastTimer = null;
  function toast(text) {
    const t = $("toast");
    t.textContent = text; t.hidden = false;
    clearTimeout(toastTimer); toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  /* ---------- polling ---------- */
  function poller(key, fn, every) {
    let timer = null, busy = false, again = false, stopped = false;
    async function run() {
      if (stopped) return;
      if (busy) { again = true; return; }
      busy = true; clearTimeout(timer);
      try { await fn(); clearError(key); } catch (e) { if (!stopped) showError(key, e); }
      busy = false;
      if (stopped) return;
      if (again) { again = false; run(); } else timer = setTimeout(run, every);
    }
    return { run, stop() { stopped = true; clearTimeout(timer); } };
  }
  let pollers = [];

  /* ---------- live calls and waves ---------- */
  async function loadLive() {
    const data = await api("/live");
    const calls = data.calls || [];
    $("live-count").textContent = String(calls.length);
    $("live-body").replaceChildren(...(calls.length ? calls.map((c) => el("tr",
      { testid: "live-call-row", data: { callId: c.id, state: c.state } },
      el("td", {}, badge(label(STATES, c.state), `state-${c.state}`)),
      el("td", { text: label(DIRECTIONS, c.direction) }),
      el("td", { class: "mono nowrap", text: c.remote_number || "–" }),
      el("td", { text: c.debtor || "–" }), el("td", { text: c.campaign || "–" }),
      el("td", { class: "num mono", data: { since: c.answered_at || c.created_at } })))
      : [emptyRow(6, "No hay llamadas en curso")]));
    tickDurations();
    window.WaveProgress.render($("waves"), data.waves || [], window.DashboardFormat);
    $("live-body").closest("section").dataset.loaded = "true";
    $("updated").textContent = `Actualizado ${when(new Date().toISOString())}`;
  }
  function tickDurations() {
    for (const td of document.querySelectorAll("#live-body td[data-since]"))
      td.textContent = clock(Date.now() - Date.parse(td.dataset.since));
  }
  const emptyRow = (span, text) => el("tr", { class: "empty-row" }, el("td", { colSpan: span, text }));
  /* ---------- KPIs and the hourly chart ---------- */
  async function loadSummary() {
    const s = await api(`/metrics/summary?hours=${HOURS}`);
    setCurrency(s.currency);
    $("kpi-window").textContent = `(${HOURS} h)`;
    $("kpi-calls").textContent = num(s.calls, 0);
    $("kpi-calls-sub").textContent = `${num(s.answered, 0)} contestadas`;
    $("kpi-contact-rate").textContent = pct(s.contact_rate);
    $("kpi-contact-sub").textContent = "contestadas / llamadas";
    $("kpi-promise-rate").textContent = pct(s.promise_rate);
    $("kpi-promise-sub").textContent = `${num(s.promises, 0)} promesas`;
    const ms = s.avg_voice_to_voice_ms;
    $("kpi-latency").textContent = ms == null ? "–" : ms >= 1000 ? `${num(ms / 1000, 2)} s` : `${Math.round(ms)} ms`;
    $("kpi-cost").textContent = money(s.cost_total);
    $("kpi-cost-sub").textContent = s.calls ? `${money(s.cost_total / s.calls, true)} por llamada` : "";
    $("kpi-calls-per-hour").textContent = num(s.calls_per_hour || 0, 1);
    document.querySelector("[data-testid=kpis]").dataset.loaded = "true";
    window.HourlyChart.render($("hourly-chart"), $("hourly-legend"), s, OUTCOMES, { el, num, pad });
  }

  /* ---------- recent calls ---------- */
  let selectedCall = null;
  async function loadCalls() {
    const { items = [] } = await api("/calls?limit=50");
    $("calls-body").replaceChildren(...(items.length ? items.map((c) => {
      const tr = el("tr", { testid: "call-row", tabIndex: 0, data: { callId: c.id },
          className: c.id === selectedCall ? "selected" : "" },
        el("td", { class: "nowrap", text: when(c.created_at) }),
        el("td", { text: c.direction === "inbound" ? "Ent." : "Sal.", title: label(DIRECTIONS, c.direction) }),
        el("td", { class: "mono nowrap", text: c.remote_number || "–" }),
        el("td", { text: c.debtor || "–" }),
        el("td", {}, c.outcome ? badge(label(OUTCOMES, c.outcome), `outcome-${c.outcome}`,
          { testid: "call-outcome", data: { outcome: c.outcome } })
          : badge(label(STATES, c.state), "muted", { testid: "call-outcome", data: { outcome: "" } })),
        el("td", { testid: "call-result", data: { result: c.result || "" }, text: c.result ? label(RESULTS, c.result) : "–" }),
        el("td", { class: "num mono", text: duration(c.duration_s) }),
        el("td", { class: "num mono", text: money(c.cost, true) }),
        el("td", { class: "center", text: c.has_recording ? "●" : "", title: c.has_recording ? "Con grabación" : "" }));
      const open = () => selectCall(c.id);
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
      return tr;
    }) : [emptyRow(9, "Todavía no hay llamadas")]));
    $("calls-body").closest("section").dataset.loaded = "true";
  }
  function markSelected(body, attr, id) {
    for (const tr of $(body).rows) tr.classList.toggle("selected", tr.dataset[attr] === id);
  }
  function selectCall(id) {
    selectedCall = id; markSelected("calls-body", "callId", id);
    loadDetail(panels.call, id, (call) => [
      ["Número", call.remote_number], ["Deudor", call.debtor], ["Dirección", label(DIRECTIONS, call.direction)],
      ["Inicio", when(call.created_at)], ["Duración", duration(call.duration_s)],
      ["Resultado", label(OUTCOMES, call.outcome)], ["Gestión", call.result ? label(RESULTS, call.result) : "–"],
      ...promiseFacts(call), ...analysisFacts(call.analysis), ...turnFacts(call.turns), ...correctionFacts(call.turns),
      ["Costo", money(call.cost, true)]]);
  }
  /* ---------- detail panels: facts, transcript, recording ---------- */
  const panel = (key) => ({ key, seq: 0, url: null, root: $(`${key}-detail`), body: $(`${key}-detail-body`),
    empty: $(`${key}-detail-empty`), facts: $(`${key}-facts`), lines: $(`${key}-transcript`),
    audio: $(`${key}-audio`), note: $(`${key}-audio-note`) });
  const panels = { call: panel("call"), followup: panel("followup") };
  function resetAudio(p) {
    p.audio.pause(); p.audio.removeAttribute("src"); p.audio.load();
    if (p.url) URL.revokeObjectURL(p.url);
    p.url = null; p.audio.hidden = true; p.audio.dataset.state = "none"; p.note.textContent = "";
  }
  function clearPanel(p) {
    p.seq++; resetAudio(p); p.body.hidden = true; p.empty.hidden = false;
    p.root.dataset.state = ""; p.root.dataset.loadedId = "";
  }
  async function loadDetail(p, id, facts) {
    const seq = ++p.seq;
    resetAudio(p);
    Object.assign(p.root.dataset, { state: "loading", loadedId: "" });
    p.empty.hidden = true; p.body.hidden = false;
    p.facts.replaceChildren(); p.lines.replaceChildren(el("li", { class: "empty", text: "Cargando…" }));
    try {
      const [call, transcript] = await Promise.all([api(`/calls/${enc(id)}`), api(`/calls/${enc(id)}/transcript`)]);
      if (seq !== p.seq) return;
      p.facts.replaceChildren(...facts(call).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v ?? "–" })]));
      renderTranscript(p, transcript.lines || []);
      Object.assign(p.root.dataset, { state: "ready", loadedId: id });
      clearError(p.key);
      if (call.has_recording) loadRecording(p, id, seq);
      else if (call.recording_deleted_at) {
        p.note.textContent = `Grabación eliminada el ${String(call.recording_deleted_at).slice(0, 10)} (plazo de conservación).`;
      } else { p.note.textContent = "Esta llamada no tiene grabación."; }
    } catch (e) {
      if (seq !== p.seq) return;
      p.root.dataset.state = "error";
      p.lines.replaceChildren(el("li", { class: "empty error", text: `No se pudo cargar: ${e}` }));
      showError(p.key, e);
    }
  }
  function renderTranscript(p, lines) {
    if (!lines.length) { p.lines.replaceChildren(el("li", { class: "empty", text: "Sin transcripción." })); return; }
    p.lines.replaceChildren(...lines.map((l) => {
      const ts = el("button", { type: "button", class: "ts", text: clock(l.start_ms), title: "Escuchar desde aquí" });
      ts.addEventListener("click", () => {
        if (p.audio.dataset.state !== "ready") return;
        p.audio.currentTime = l.start_ms / 1000; p.audio.play().catch(() => {});
      });
      return el("li", { class: `line ${l.speaker === "agent" ? "agent" : "caller"}`, testid: "transcript-line",
        data: { speaker: l.speaker, startMs: l.start_ms } }, ts,
        el("span", { class: "who", text: l.speaker === "agent" ? "Agente" : "Cliente" }),
        el("span", { class: "text", text: l.text }),
        l.interrupted ? el("span", { class: "tag", text: "interrumpido", title: "El cliente habló encima" }) : null);
    }));
  }
  async function loadRecording(p, id, seq) {
    p.audio.dataset.state = "loading"; p.note.textContent = "Cargando grabación…";
    try {
      const blob = await api(`/calls/${enc(id)}/recording`, { blob: true });
      if (seq !== p.seq) return;
      p.url = URL.createObjectURL(blob);
      p.audio.src = p.url; p.audio.hidden = false; p.audio.dataset.state = "ready"; p.note.textContent = "";
    } catch (e) {
      if (seq !== p.seq) return;
      p.audio.dataset.state = e.status === 404 || e.status === 403 ? "none" : "error";
      p.note.textContent = e.status === 404 ? "La grabación no está disponible."
        : e.status === 403 ? "Su rol no permite escuchar grabaciones."
        : `No se pudo cargar la grabación: ${e}`;
    }
  }

  /* ---------- ready-for-human queue ---------- */
  let selectedFollowup = null;
  async function loadFollowups() {
    const { items = [] } = await api("/followups?limit=50");
    $("followup-count").textContent = String(items.length);
    $("followups-body").replaceChildren(...(items.length ? items.map((f) => {
      const tr = el("tr", { testid: "followup-row", tabIndex: 0, data: { attemptId: f.attempt_id },
          className: selectedFollowup && selectedFollowup.attempt_id === f.attempt_id ? "selected" : "" },
        el("td", { class: "num" }, badge(String(f.priority ?? 0), f.priority >= 50 ? "prio-high" : "prio")),
        el("td", { text: f.debtor || "–" }), el("td", { class: "mono nowrap", text: f.remote_number || "–" }),
        el("td", { class: "summary" }, el("div", { class: "clamp", text: f.summary || "–", title: f.summary || "" })),
        el("td", {}, badge(label(SENTIMENTS, f.sentiment), `sent-${f.sentiment}`)),
        el("td", { text: label(NEXT_ACTIONS, f.next_action) }),
        el("td", { class: "nowrap", text: when(f.analyzed_at) }));
      const open = () => selectFollowup(f);
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
      return tr;
    }) : [emptyRow(7, "No hay casos pendientes")]));
    $("followups-body").closest("section").dataset.loaded = "true";
  }
  function selectFollowup(f) {
    selectedFollowup = f; markSelected("followups-body", "attemptId", f.attempt_id);
    resetCloseForm();
    loadDetail(panels.followup, f.attempt_id, (call) => [
      ["Deudor", f.debtor], ["Número", f.remote_number], ["Prioridad", String(f.priority ?? 0)],
      ["Sentimiento", label(SENTIMENTS, f.sentiment)], ["Próxima acción", label(NEXT_ACTIONS, f.next_action)],
      ["Resultado", label(OUTCOMES, f.outcome || call.outcome)],
      ["Gestión", f.result || call.result ? label(RESULTS, f.result || call.result) : "–"],
      ...promiseFacts(call), ...leadFacts(f), ["Resumen", f.summary || "–"]]);
  }
  function resetCloseForm() {
    $("close-form").reset(); $("close-error").hidden = true; $("close-by").value = sessionStorage.getItem(BY_KEY) || "";
  }
  async function closeFollowup(e) {
    e.preventDefault();
    const f = selectedFollowup, err = $("close-error"), submit = e.target.querySelector("button[type=submit]");
    if (!f) return;
    const outcome = $("close-outcome").value, notes = $("close-notes").value.trim(), by = $("close-by").value.trim();
    if (!outcome) { err.textContent = "Elija el resultado de la gestión."; err.hidden = false; return; }
    err.hidden = true; submit.disabled = true;
    try {
      await api(`/followups/${enc(f.attempt_id)}/close`, { method: "POST", body: { outcome, notes, ...(by ? { by } : {}) } });
      sessionStorage.setItem(BY_KEY, by);
      toast(`Caso cerrado: ${f.debtor || f.remote_number || f.attempt_id}`);
      for (const tr of [...$("followups-body").rows]) if (tr.dataset.attemptId === f.attempt_id) tr.remove();
      selectedFollowup = null; resetCloseForm(); clearPanel(panels.followup);
      pollers.forEach((p) => p.key === "followups" && p.run());
    } catch (ex) {
      err.textContent = `No se pudo cerrar el caso: ${ex}`; err.hidden = false;
    } finally { submit.disabled = false; }
  }

  /* ---------- sign in / out ---------- */
  function start() {
    $("login-view").hidden = true; $("app-view").hidden = false; $("logout").hidden = false;
    api("/session").then((me) => { $("who").textContent = me.machine ? "token de integración" : `${me.username} (${me.role})`; })
      .catch(() => { /* a 401 signs out; anything else leaves the name blank */ });
    pollers.forEach((p) => p.stop());
    pollers = [["live", loadLive], ["summary", loadSummary], ["calls", loadCalls], ["followups", loadFollowups]]
      .map(([key, fn]) => Object.assign(poller(key, fn, EVERY[key]), { key }));
    pollers.forEach((p) => p.run());
  }
  function signOut(message) {
    pollers.forEach((p) => p.stop()); pollers = [];
    selectedCall = null; selectedFollowup = null;
    sessionStorage.removeItem(TOKEN_KEY);
    errors.clear(); renderErrors(); clearPanel(panels.call); clearPanel(panels.followup);
    $("app-view").hidden = true; $("logout").hidden = true; $("login-view").hidden = false;
    $("updated").textContent = ""; $("toast").hidden = true;
    const le = $("login-error");
    le.textContent = message || ""; le.hidden = !message;
    $("who").textContent = "";
    $("login-username").focus();
  }

  // A user and password give a session token (POST /session); an integration's token is used as it is.
  async function logIn(username, password) {
    let res;
    try {
      res = await fetch(`${API}/session`, { method: "POST", cache: "no-store", credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ username, password }) });
    } catch (_) { throw new ApiError(0, "No se pudo conectar con el servidor"); }
    const j = await res.json().catch(() => ({}));
    if (!res.ok) {
      const message = res.status === 401 ? "Usuario o contraseña incorrectos."
        : res.status === 429 ? "Demasiados intentos fallidos; espere unos minutos."
        : (j.error && j.error.message) || res.statusText;
      throw new ApiError(res.status, message);
    }
    return j.token;
  }
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const username = $("login-username").value.trim(), password = $("login-password").value;
    let token = $("login-token").value.trim();
    if (username && password) {
      try { token = await logIn(username, password); }
      catch (err) { const le = $("login-error"); le.textContent = err.message; le.hidden = false; return; }
    }
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    ["login-username", "login-password", "login-token"].forEach((id) => { $(id).value = ""; });
    $("login-error").hidden = true;
    start();
  });
  $("logout").addEventListener("click", async () => {
    try { await api("/session", { method: "DELETE" }); } catch (_) { /* ended anyway: forget it here */ }
    signOut("");
  });
  $("calls-refresh").addEventListener("click", () => pollers.forEach((p) => p.key === "calls" && p.run()));
  $("close-form").addEventListener("submit", closeFollowup);
  setInterval(tickDurations, 1000);
  // The other sections (dashboard-debtors.js) use the same API helper, toasts and error banner.
  // openCall: the debtor's file opens one of their calls (transcript, recording) in the call panel.
  window.callcenterDashboard = { refresh: () => pollers.forEach((p) => p.run()), api, toast, showError, clearError,
    openCall: (id) => { selectCall(id); panels.call.root.scrollIntoView({ block: "start" }); } };

  takeTokenFromFragment();
  if (sessionStorage.getItem(TOKEN_KEY)) start(); else signOut("");
})();
