/* Campaigns and imports from the browser: upload a debtor spreadsheet and read the per-row report,
 * create a campaign (the API validates it as the CLI does), launch a wave now, pause, resume, finish,
 * and each campaign's jobs by state, refreshed every 10 s. Uses dashboard.js's API helper (window.callcenterDashboard).
 *
 * Hooks for the browser tests:
 *   [data-testid=import-form] with [data-testid=import-company|import-file|import-leads|import-submit|import-error];
 *   [data-testid=import-report] > [data-testid=import-summary], [data-testid=import-errors] > li[data-line]
 *   [data-testid=campaign-form] with [data-testid=campaign-name|campaign-company|campaign-kind|campaign-country|campaign-waves|
 *     campaign-per-day|campaign-types|campaign-flows|campaign-machine|campaign-caller-id|campaign-submit|campaign-error]
 *   [data-testid=export-xlsx] downloads the calls as llamadas.xlsx (supervisors; audited by the API)
 *   [data-testid=campaigns] rows [data-testid=campaign-row][data-campaign-id][data-status], cell
 *     [data-testid=campaign-progress], buttons [data-testid=campaign-wave|campaign-pause|campaign-resume|campaign-finish]
 */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const { el } = window.DashboardFormat;
  const dash = () => window.callcenterDashboard;
  const STATUS = { draft: "borrador", active: "activa", paused: "en pausa", finished: "terminada" };
  const MAX_ROWS = 30;
  const KINDS = { collection: "cobranza", sales: "venta" };
  const JOBS = { queued: "en cola", claimed: "marcando", done: "listos", failed: "fallidos", cancelled: "anulados" };

  async function load() {
    if ($("app-view").hidden) return;
    try {
      const { items } = await dash().api("/campaigns");
      // The running ones first, then the newest finished; one request for all (jobs come with the list).
      const order = (c) => (c.status === "finished" ? 1 : 0);
      const shown = items.sort((a, b) => order(a) - order(b) || b.id - a.id).slice(0, MAX_ROWS);
      $("campaigns-body").replaceChildren(...shown.map((c) => row(c,
        Object.entries(c.jobs).map(([k, n]) => `${n} ${JOBS[k] || k}`).join(" · ") || "–")));
      dash().clearError("campaigns");
    } catch (err) { dash().showError("campaigns", err); }
  }

  function row(c, today) {
    const buttons = el("td", { class: "actions" });
    const add = (text, testid, verb, when) => {
      if (!when) return;
      const b = el("button", { type: "button", class: "btn btn-ghost small", text, testid });
      b.addEventListener("click", () => act(c, verb, b));
      buttons.append(b);
    };
    add("Ola ahora", "campaign-wave", "start", c.status !== "finished");
    add("Pausar", "campaign-pause", "pause", c.status === "active");
    add("Reanudar", "campaign-resume", "resume", c.status === "paused" || c.status === "draft");
    add("Finalizar", "campaign-finish", "finish", c.status !== "finished");
    return el("tr", { testid: "campaign-row", data: { campaignId: String(c.id), status: c.status } },
      el("td", { text: `${c.name} (${KINDS[c.kind] || c.kind})` }), el("td", { text: STATUS[c.status] || c.status }),
      el("td", { text: c.waves.join(", ") }), el("td", { testid: "campaign-progress", text: today }), buttons);
  }

  async function act(c, verb, button) {
    if (verb === "finish" && !window.confirm(`¿Finalizar la campaña "${c.name}"? No se puede deshacer.`)) return;
    button.disabled = true;
    try {
      const r = await dash().api(`/campaigns/${c.id}/${verb}`, { method: "POST" });
      dash().toast(verb === "start" ? `Ola lanzada: ${r.enqueued} deudores en cola` : `${c.name}: ${{ pause: "en pausa", resume: "reanudada", finish: "terminada" }[verb]}`);
      await load();
      dash().refresh();
    } catch (err) { dash().showError("campaigns", err); button.disabled = false; }
  }

  async function create(e) {
    e.preventDefault();
    const err = $("campaign-error"), v = (id) => $(id).value.trim();
    err.hidden = true;
    const country = v("campaign-country");
    const types = v("campaign-types").split(",").map((t) => t.trim()).filter(Boolean);
    const flows = {};
    for (const pair of v("campaign-flows").split(",").map((t) => t.trim()).filter(Boolean)) {
      const [kind, flow] = pair.split("=").map((t) => (t || "").trim());
      if (!kind || !flow) { err.textContent = `Guion "${pair}": escriba tipo=guion`; err.hidden = false; return; }
      flows[kind] = flow;
    }
    const body = { name: v("campaign-name"), company: v("campaign-company"), kind: v("campaign-kind"), country, flows,
      answering_machine: v("campaign-machine"),
      timezone: { CL: "America/Santiago", AR: "America/Argentina/Buenos_Aires", CO: "America/Bogota" }[country],
      caller_id: v("campaign-caller-id"), selection: { delinquency_types: types },
      policy: { waves: v("campaign-waves").split(",").map((t) => t.trim()).filter(Boolean),
        debtors_per_day: Number(v("campaign-per-day")), profiles: [country] } };
    try {
      const made = await dash().api("/campaigns", { method: "POST", body });
      dash().toast(`Campaña creada: ${made.name}`);
      e.target.reset();
      await load();
    } catch (ex) { err.textContent = `No se pudo crear: ${ex}`; err.hidden = false; }
  }

  async function upload(e) {
    e.preventDefault();
    const err = $("import-error"), file = $("import-file").files[0];
    err.hidden = true;
    if (!file) return;
    const form = new FormData();
    const leads = $("import-leads").checked;
    form.append("company", $("import-company").value.trim());
    form.append("leads", String(leads));
    form.append("file", file, file.name);
    try {
      const r = await dash().api("/contacts/imports", { method: "POST", form });
      $("import-summary").textContent = `${r.rows_read} filas leídas: ${r.debtors_new} ${leads ? "prospectos" : "deudores"} nuevos, `
        + `${r.debtors_updated} actualizados, ${r.rows_rejected} rechazadas.`;
      $("import-errors").replaceChildren(...r.errors.map((x) => el("li", { data: { line: String(x.line) },
        text: `Línea ${x.line}: ${x.warning ? "aviso: " : ""}${x.reason}` })));
      $("import-report").hidden = false;
    } catch (ex) { err.textContent = `No se pudo cargar: ${ex}`; err.hidden = false; }
  }

  async function exportXlsx() {
    try {
      const blob = await dash().api("/export/calls?format=xlsx", { blob: true });
      const a = el("a", { href: URL.createObjectURL(blob), download: "llamadas.xlsx" });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    } catch (err) {
      dash().showError("calls", err.status === 403 ? "Su rol no permite exportar." : err);
    }
  }

  $("export-xlsx").addEventListener("click", exportXlsx);
  $("campaign-form").addEventListener("submit", create);
  $("import-form").addEventListener("submit", upload);
  $("campaigns-refresh").addEventListener("click", load);
  setInterval(load, 10000);
  // dashboard.js shows the app after a login; load as soon as it is visible.
  new MutationObserver(() => { if (!$("app-view").hidden) load(); })
    .observe($("app-view"), { attributes: true, attributeFilter: ["hidden"] });
})();
