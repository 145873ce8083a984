// The panels: what `casanode diag` prints (tools/diag.ts formatDiag), as sections a crew can
// read on a phone, plus a small chart per quantity of the readings seen since connecting.
// Node data only ever goes in as text (textContent), never as markup.

import { clockLine, clockUnanswered, formatDuration, rssiQuality, type DiagReport } from "../../tools/diag.js";

type Cell = string | number | null | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function num(v: unknown): string {
  return typeof v === "number" && Number.isFinite(v) ? String(v) : "-";
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? "?" : d.toISOString().replace(/\.\d+Z$/, "Z");
}

/** A panel: a labelled region with a definition list; `key` (a diag JSON path) marks each value for tests and scripts. */
function panel(id: string, title: string, rows: Array<[string, Cell, string?, string?]>, extra?: Node, warn = false): HTMLElement {
  const dl = el("dl");
  for (const [label, value, key, cls] of rows) {
    const dd = el("dd", key ? { "data-key": key } : {}, value === null || value === undefined || value === "" ? "-" : String(value));
    if (cls) dd.className = cls;
    dl.append(el("dt", {}, label), dd);
  }
  const h = el("h2", { id: id + "-title" }, title);
  const s = el("section", { class: "panel" + (warn ? " warn" : ""), "aria-labelledby": id + "-title", id }, h, dl);
  if (extra) s.append(extra);
  return s;
}

export function renderReport(d: DiagReport, history: History, locked: boolean): HTMLElement[] {
  const nowMs = typeof d.t === "number" ? d.t * 1000 : Date.now();
  const ago = (ms: number) => (ms > 0 ? formatDuration((nowMs - ms) / 1000) + " ago" : "never");
  const c = d.counters ?? {};
  const panels: HTMLElement[] = [];

  panels.push(
    panel("identity", "Node and firmware", [
      ["Node", `${d.site ?? "?"}/${d.node ?? "?"}`, "node"],
      ["Board", d.board, "board"],
      ["Firmware", d.fw, "fw"],
      ["Up", `${formatDuration(d.uptimeS ?? NaN)} since ${d.boot ?? "?"}`, "uptimeS"],
      ["Boots / wakes", `${num(c.boots)} / ${num(c.wakes)}`, "counters.boots"],
      ["Node clock", d.t ? iso(d.t * 1000) + (d.t < 1577836800 ? " (not set yet)" : "") : "-", "t"],
      ["Console", locked ? "locked: read-only health report" : "logged in", undefined],
    ]),
  );

  const faults = Object.entries(d.devices ?? {}).filter(([, dv]) => dv.faults || dv.fitted === false);
  const bad = !!d.safe || !!d.configErrors?.length || !!d.alarms?.length;
  panels.push(
    panel(
      "health",
      "Safe mode and faults",
      [
        ["Mode", d.safe ? `SAFE MODE: ${d.safe}` : "normal", "safe", d.safe ? "bad" : "good"],
        ["Config", d.configErrors?.length ? "refused: " + d.configErrors.join("; ") : "valid", "configErrors", d.configErrors?.length ? "bad" : undefined],
        ["Alarms", d.alarms?.length ? d.alarms.join(", ") : "none", "alarms", d.alarms?.length ? "bad" : undefined],
        ["Device faults", faults.length ? faults.map(([n, dv]) => `${n}: ${dv.fitted === false ? "absent" : `${dv.faults} (last ${dv.lastFault || "?"})`}`).join("; ") : "none", "faults"],
        ["Last boots", (d.boots ?? []).slice(-5).map(([t, cause]) => `${cause} ${iso(t)}`).join(", ") || "-", "boots"],
      ],
      undefined,
      bad,
    ),
  );

  // sensors: one row per device, as the CLI's table
  const head = ["Device", "Model", "Now", "Last values", "Frames ok", "Checksum", "Timeouts", "Range", "Last good", "Wiring"];
  const table = el("table", {}, el("caption", { class: "sr" }, "Sensors and their driver counters"), el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))));
  const body = el("tbody");
  for (const [name, dv] of Object.entries(d.devices ?? {})) {
    const k = dv.counters;
    const readings = ((dv as { readings?: Array<{ name: string; unit: string; value: number }> | null }).readings ?? []).map((r) => `${r.name} ${r.value} ${r.unit}`).join(", ");
    const cells: Array<[Cell, string]> = [
      [(dv.model ?? "?") + (dv.fitted === false ? " (absent)" : ""), "model"],
      [dv.now ?? "?", "now"],
      [readings || "-", "readings"],
      [num(k?.framesOk), "counters.framesOk"],
      [num(k?.checksumErrors), "counters.checksumErrors"],
      [num(k?.timeouts), "counters.timeouts"],
      [num(k?.rangeErrors), "counters.rangeErrors"],
      [k ? ago(k.lastGoodMs ?? 0) : "-", "counters.lastGoodMs"],
      // the driver's describe(): bus, pins, power switch (older firmware sends none)
      [dv.desc || "-", "desc"],
    ];
    body.append(el("tr", { "data-device": name }, el("th", { scope: "row" }, name), ...cells.map(([v, key]) => el("td", { "data-key": `devices.${name}.${key}` }, String(v)))));
  }
  table.append(body);
  panels.push(panel("sensors", "Sensors", [], el("div", { class: "scroll" }, table)));

  const q = d.queue ?? {};
  panels.push(
    panel("queue", "Queue", [
      ["Waiting", `${num(q.depth)} of ${num(q.max)}`, "queue.depth"],
      ["Dropped", num(c.dropped), "counters.dropped", c.dropped ? "bad" : undefined],
      ["Read / published / acked", `${num(c.readings)} / ${num(c.published)} / ${num(c.acked)}`, "counters.readings"],
      ["Commands done / refused", `${num(c.cmds)} / ${num(c.cmdErrors)}`, "counters.cmds"],
    ]),
  );

  const rssi = d.wifi?.rssi;
  const up = d.upload ?? {};
  panels.push(
    panel("uplink", "Uplink and Wi-Fi", [
      ["Wi-Fi", typeof rssi === "number" ? `${rssi} dBm (${rssiQuality(rssi)})` : "not joined now", "wifi.rssi"],
      ["Broker", up.connected ? "connected" : "not connected", "upload.connected"],
      ["Last upload", up.last ? `${iso(up.last * 1000)} (${ago(up.last * 1000)}) ${up.ok ? "ok" : "FAILED"}` : "never", "upload.last", up.last && !up.ok ? "bad" : undefined],
      ["Uploads ok / failed", `${num(c.uploads)} / ${num(c.uploadFails)}`, "counters.uploads"],
      ...(d.clock ? [["Clock", clockLine(d.clock, iso, ago), "clock.synced", clockUnanswered(d.clock) ? "bad" : undefined] as [string, string, string, string | undefined]] : []),
    ]),
  );

  const mem = d.memory;
  const used = mem && typeof mem.total === "number" && typeof mem.free === "number" ? mem.total - mem.free : undefined;
  const f = d.flash ?? {};
  panels.push(
    panel("memory", "Memory and flash", [
      ["JS variables", used !== undefined ? `${used} of ${mem!.total} used (${Math.round((100 * used) / mem!.total!)} %)` : "not reported", "memory.total"],
      ["Flash writes", `${num(f.bytesPerDay)} B/day` + (typeof f.lifeYears === "number" ? `, wear-out in ~${f.lifeYears} years` : ""), "flash.bytesPerDay"],
      ["Store", f.error ? `ERROR: ${f.error}` : "ok", "flash.error", f.error ? "bad" : undefined],
    ]),
  );

  const en = d.energy ?? {};
  const states = Object.entries(en.ms ?? {}).filter(([, ms]) => ms > 0);
  panels.push(
    panel("energy", "Energy", [
      ["Charge since first boot", `${num(en.mAh)} mAh`, "energy.mAh"],
      ...states.map(([state, ms]): [string, Cell, string] => [`Time ${state}`, formatDuration(ms / 1000), `energy.ms.${state}`]),
    ]),
  );

  panels.push(panel("chart", "Recent readings", [], history.chart()));
  return panels;
}

/** Readings seen on each read since the page connected, per quantity: the chart's data. */
export class History {
  private series = new Map<string, { unit: string; points: Array<[number, number]> }>();
  constructor(private readonly max = 60) {}

  add(d: DiagReport): void {
    const t = typeof d.t === "number" ? d.t * 1000 : Date.now();
    for (const [dev, dv] of Object.entries(d.devices ?? {})) {
      for (const r of (dv as { readings?: Array<{ name: string; unit: string; value: number }> | null }).readings ?? []) {
        if (typeof r.value !== "number" || !Number.isFinite(r.value)) continue;
        const key = `${dev}.${r.name}`;
        const s = this.series.get(key) ?? { unit: r.unit, points: [] };
        const last = s.points[s.points.length - 1];
        if (!last || last[0] !== t) s.points.push([t, r.value]);
        if (s.points.length > this.max) s.points.shift();
        this.series.set(key, s);
      }
    }
  }

  /** One small line chart per quantity (SVG, drawn here: no chart library). */
  chart(): HTMLElement {
    const box = el("div", { class: "charts" });
    if (!this.series.size) box.append(el("p", {}, "No readings yet: values appear after the node's next good read."));
    const ns = "http://www.w3.org/2000/svg";
    const W = 220, H = 60;
    for (const [key, s] of this.series) {
      const vs = s.points.map((p) => p[1]);
      const lo = Math.min(...vs), hi = Math.max(...vs), t0 = s.points[0][0], t1 = s.points[s.points.length - 1][0];
      const x = (t: number) => (t1 > t0 ? ((t - t0) / (t1 - t0)) * (W - 8) + 4 : W / 2);
      const y = (v: number) => (hi > lo ? H - 4 - ((v - lo) / (hi - lo)) * (H - 8) : H / 2);
      const svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", `${key}: ${vs.length} readings from ${lo} to ${hi} ${s.unit}, last ${vs[vs.length - 1]}`);
      const line = document.createElementNS(ns, vs.length > 1 ? "polyline" : "circle");
      if (vs.length > 1) line.setAttribute("points", s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "));
      else {
        line.setAttribute("cx", String(x(t0)));
        line.setAttribute("cy", String(y(vs[0])));
        line.setAttribute("r", "3");
      }
      line.setAttribute("class", "series");
      svg.append(line);
      box.append(el("figure", { "data-series": key }, el("figcaption", {}, `${key} ${vs[vs.length - 1]} ${s.unit} (${lo}..${hi})`), svg as unknown as Node));
    }
    return box;
  }
}
