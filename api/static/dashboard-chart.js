/* The dashboard's live pictures: "Resultados por hora" and today's waves.
 *
 * "Resultados por hora": a stacked bar chart of call outcomes per hour, drawn as inline SVG.
 * window.HourlyChart.render(chartBox, legendBox, summary, outcomeNames, helpers), where summary is
 * GET /api/v1/metrics/summary ({since, by_hour: [{hour, outcomes: {answered: n, ...}}]}). Hours without
 * calls between `since` and now are drawn as empty slots. Test hooks: g[data-testid=chart-bar][data-hour]
 * [data-total] > rect[data-outcome] (with a <title> tooltip), and [data-testid=legend-item][data-outcome].
 */
"use strict";
(() => {
  const OUTCOME_COLORS = { answered: "#16a34a", busy: "#f59e0b", no_answer: "#94a3b8", voicemail: "#8b5cf6",
    failed: "#dc2626", congestion: "#ea580c", invalid_number: "#7f1d1d", silent: "#475569", in_progress: "#2563eb" };
  const EXTRA_COLORS = ["#0891b2", "#db2777", "#65a30d", "#a16207", "#4f46e5"];
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs = {}, text) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text != null) n.textContent = text;
    return n;
  }
  function niceScale(v) { // whole-number steps of 1, 2 or 5 x 10^n; at most about 5 gridlines
    const raw = Math.max(1, v / 5), p = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * p).find((m) => m >= raw);
    return { step, top: Math.max(step * Math.ceil(v / step), 4 * step) };
  }
  function render(box, legendBox, s, names, { el, num, pad }) {
    const label = (k) => names[k] || k;
    const H = 3600e3, byHour = new Map();
    for (const b of s.by_hour || []) byHour.set(Math.floor(Date.parse(b.hour) / H) * H, b.outcomes || {});
    const first = Math.floor(Date.parse(s.since) / H) * H, last = Math.floor(Date.now() / H) * H;
    const hours = [];
    for (let t = Number.isFinite(first) ? first : last; t <= last && hours.length < 200; t += H) hours.push(t);
    for (const t of byHour.keys()) if (!hours.includes(t)) hours.push(t);
    hours.sort((a, b) => a - b);
    const keys = Object.keys(names).filter((k) => hours.some((h) => (byHour.get(h) || {})[k]));
    for (const h of hours) for (const k of Object.keys(byHour.get(h) || {})) if (!keys.includes(k)) keys.push(k);
    const color = (k) => OUTCOME_COLORS[k] || EXTRA_COLORS[Math.max(0, keys.indexOf(k)) % EXTRA_COLORS.length];
    const totals = hours.map((h) => Object.values(byHour.get(h) || {}).reduce((a, b) => a + (b || 0), 0));
    const W = 640, Ht = 240, L = 36, R = 8, T = 10, B = 26, pw = W - L - R, ph = Ht - T - B;
    const { step, top } = niceScale(Math.max(0, ...totals)), y = (v) => T + ph - (v / top) * ph;
    const root = svg("svg", { viewBox: `0 0 ${W} ${Ht}`, role: "img", class: "chart-svg",
      "aria-label": "Resultados de las llamadas por hora" });
    for (let v = 0; v <= top; v += step) {
      const yy = y(v);
      root.append(svg("line", { x1: L, x2: W - R, y1: yy, y2: yy, class: v ? "grid" : "axis" }),
        svg("text", { x: L - 6, y: yy + 4, class: "tick", "text-anchor": "end" }, num(v, 0)));
    }
    const band = pw / Math.max(hours.length, 1), bw = Math.max(2, Math.min(28, band * 0.72));
    const every = Math.ceil(hours.length / 12);
    hours.forEach((h, i) => {
      const x = L + i * band + (band - bw) / 2, hh = pad(new Date(h).getHours());
      const g = svg("g", { "data-testid": "chart-bar", "data-hour": new Date(h).toISOString(), "data-total": totals[i] });
      let acc = 0;
      for (const k of keys) {
        const n = (byHour.get(h) || {})[k] || 0;
        if (!n) continue;
        const rect = svg("rect", { x, width: bw, y: y(acc + n), height: y(acc) - y(acc + n), fill: color(k), "data-outcome": k });
        rect.append(svg("title", {}, `${hh}:00 · ${label(k)}: ${n}`));
        g.append(rect); acc += n;
      }
      root.append(g);
      if (i % every === 0) root.append(svg("text", { x: x + bw / 2, y: Ht - 8, class: "tick", "text-anchor": "middle" }, `${hh}h`));
    });
    if (!totals.some(Boolean))
      root.append(svg("text", { x: L + pw / 2, y: T + ph / 2, class: "chart-empty", "text-anchor": "middle" }, "Sin llamadas en el período"));
    box.replaceChildren(root);
    legendBox.replaceChildren(...keys.map((k) => {
      const sw = el("span", { class: "swatch" }); sw.style.background = color(k);
      return el("span", { class: "legend-item", testid: "legend-item", data: { outcome: k } }, sw, label(k));
    }));
  }

  window.HourlyChart = { render };

  /* Today's waves: a progress bar each (done, in progress) and its counts. Test hooks:
   * [data-testid=wave][data-wave-id]. */
  // "09:00" for a scheduled wave; "manual-17:44:15" (launched by hand) reads "manual 17:44".
  function waveSlot(slot) {
    const text = String(slot || "");
    return text.startsWith("manual-") ? `manual ${text.slice(7, 12)}` : text.slice(0, 5);
  }

  // box: [data-testid=waves]; waves: GET /api/v1/live's "waves"; fmt: window.DashboardFormat.
  function renderWaves(box, waves, { el, day }) {
    box.dataset.loaded = "true";
    if (!waves.length) { box.replaceChildren(el("p", { class: "empty", text: "No hay olas planificadas hoy." })); return; }
    box.replaceChildren(...waves.map((w) => {
      const total = w.total || 0, share = (n) => `${total ? (100 * (n || 0)) / total : 0}%`;
      const done = el("span", { class: "seg done", title: `Terminados: ${w.done}` });
      const going = el("span", { class: "seg going", title: `En curso: ${w.in_progress}` });
      done.style.width = share(w.done); going.style.width = share(w.in_progress);
      return el("div", { class: "wave", testid: "wave", data: { waveId: w.id } },
        el("div", { class: "wave-head" },
          el("strong", { text: w.campaign || `Campaña ${w.campaign_id}` }),
          el("span", { class: "muted", text: `${waveSlot(w.slot)} · ${day(w.day)}` }),
          el("span", { class: "wave-count", text: `${w.done} de ${total}` })),
        el("div", { class: "bar", role: "progressbar", ariaValueNow: String(w.done), ariaValueMax: String(total) },
          done, going),
        el("div", { class: "wave-foot muted", text: `${w.in_progress} en curso · ${w.queued} en cola · ` +
          `${w.contacts} contactos · ${w.promises} promesas` }));
    }));
  }

  window.WaveProgress = { render: renderWaves };
})();
