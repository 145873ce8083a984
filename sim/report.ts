// The run report: ONE self-contained HTML file (inline CSS and SVG, no scripts, no external
// assets), so it opens anywhere and can be attached to a CI run or an issue.
// Fleet totals first, then per node: its readings by quantity as received at the broker,
// its power states, cumulative charge and queue depth over the run.

import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { FleetSummary, FleetTraces, NodeSummary, TraceReading } from "./fleet-summary.js";
import { formatDuration } from "./duration.js";
import { formatLife } from "./energy.js";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function utc(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

function nodesText(n: number): string {
  return n === 1 ? "1 node" : `${n} nodes`;
}

function hours(ms: number): string {
  return (ms / HOUR).toFixed(2);
}

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

/** 1, 2, 5 x 10^k ticks covering [lo, hi] */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function timeTicks(start: number, end: number): { ticks: number[]; label: (t: number) => string } {
  const span = end - start;
  const steps = [60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];
  const step = steps.find((s) => span / s <= 8) ?? 7 * DAY;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  const multiDay = span > DAY || new Date(start).getUTCDate() !== new Date(end - 1).getUTCDate();
  const label = (t: number) => {
    const d = new Date(t);
    const hm = d.toISOString().slice(11, 16);
    return multiDay && (step >= DAY || hm === "00:00") ? d.toISOString().slice(5, 10) + (step >= DAY ? "" : " " + hm) : hm;
  };
  return { ticks, label };
}

interface Series {
  name: string;
  points: Array<[number, number]>;
  color?: string;
  /** step: hold each value until the next point (queue depth) */
  step?: boolean;
  dots?: boolean;
}

interface ChartOptions {
  title: string;
  yLabel: string;
  start: number;
  end: number;
  width?: number;
  height?: number;
  yMin?: number;
}

/** keep the first/last and the min and max of each pixel column: shapes survive, size does not explode */
function thin(points: Array<[number, number]>, start: number, end: number, columns: number): Array<[number, number]> {
  if (points.length <= columns * 2) return points;
  const out: Array<[number, number]> = [];
  let col = -1;
  let lo: [number, number] | undefined;
  let hi: [number, number] | undefined;
  const flush = () => {
    if (!lo || !hi) return;
    if (lo[0] <= hi[0]) out.push(lo, hi); else out.push(hi, lo);
  };
  for (const p of points) {
    const c = Math.floor(((p[0] - start) / (end - start)) * columns);
    if (c !== col) {
      flush();
      col = c;
      lo = hi = p;
    } else {
      if (p[1] < lo![1]) lo = p;
      if (p[1] > hi![1]) hi = p;
    }
  }
  flush();
  return out;
}

let chartId = 0;

interface Margins { left: number; right: number; top: number; bottom: number }
const MARGINS: Margins = { left: 62, right: 22, top: 26, bottom: 34 };
/** rough width of 11 px sans-serif text */
const textWidth = (s: string) => s.length * 6.3;

/** legend items laid out in rows: the first beside the title, then below it */
function legendLayout(names: string[], title: string, left: number, right: number): { at: Array<[number, number]>; rows: number } {
  const at: Array<[number, number]> = [];
  let row = 0;
  let x = left + title.length * 7.8 + 20; // the title is 13 px bold
  for (const name of names) {
    const w = 14 + textWidth(name) + 12;
    if (x + w > right && x > left) {
      row++;
      x = left;
    }
    at.push([x, row]);
    x += w;
  }
  return { at, rows: row + 1 };
}

function frame(o: ChartOptions, M: Margins, yTicks: number[], y: (v: number) => number, x: (t: number) => number, w: number, h: number): string[] {
  const parts: string[] = [];
  parts.push(`<text class="title" x="${M.left}" y="16">${esc(o.title)}</text>`);
  parts.push(`<rect class="plot" x="${M.left}" y="${M.top}" width="${w - M.left - M.right}" height="${h - M.top - M.bottom}"/>`);
  for (const v of yTicks) {
    const yy = y(v).toFixed(1);
    parts.push(`<line class="grid" x1="${M.left}" x2="${w - M.right}" y1="${yy}" y2="${yy}"/>`);
    parts.push(`<text class="tick" x="${M.left - 5}" y="${yy}" text-anchor="end" dominant-baseline="middle">${esc(fmt(v))}</text>`);
  }
  const { ticks, label } = timeTicks(o.start, o.end);
  for (const t of ticks) {
    const xx = x(t).toFixed(1);
    parts.push(`<line class="grid" x1="${xx}" x2="${xx}" y1="${M.top}" y2="${h - M.bottom}"/>`);
    parts.push(`<text class="tick" x="${xx}" y="${h - M.bottom + 13}" text-anchor="middle">${esc(label(t))}</text>`);
  }
  parts.push(`<text class="axis" x="${(M.left + w - M.right) / 2}" y="${h - 4}" text-anchor="middle">time (UTC)</text>`);
  parts.push(`<text class="axis" transform="translate(13 ${(M.top + h - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  return parts;
}

export function lineChart(o: ChartOptions, series: Series[]): string {
  const w = o.width ?? 620;
  const legend = legendLayout(series.map((s) => s.name), o.title, MARGINS.left, w - MARGINS.right);
  const extra = (legend.rows - 1) * 14;
  const M: Margins = { ...MARGINS, top: MARGINS.top + extra };
  const h = (o.height ?? 190) + extra;
  const plotW = w - M.left - M.right;
  const all = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  let lo = o.yMin ?? (all.length ? Math.min(...all) : 0);
  let hi = all.length ? Math.max(...all) : 1;
  if (o.yMin === undefined && lo > 0 && lo < hi * 0.5) lo = 0;
  if (hi <= lo) hi = lo + 1;
  const yTicks = niceTicks(lo, hi, 4);
  lo = Math.min(lo, yTicks[0]);
  hi = Math.max(hi, yTicks[yTicks.length - 1]);
  const x = (t: number) => M.left + ((t - o.start) / (o.end - o.start || 1)) * plotW;
  const y = (v: number) => h - M.bottom - ((v - lo) / (hi - lo)) * (h - M.top - M.bottom);
  const parts = frame(o, M, yTicks, y, x, w, h);
  // readings stamped outside the run (a day summary for the day before) stay outside the plot
  const clip = `clip${++chartId}`;
  parts.push(`<clipPath id="${clip}"><rect x="${M.left - 2}" y="${M.top - 2}" width="${plotW + 4}" height="${h - M.top - M.bottom + 4}"/></clipPath>`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = thin(s.points.filter((p) => Number.isFinite(p[1])), o.start, o.end, plotW);
    if (!pts.length) return;
    // a gap in the data (sensor unplugged, node off) is left as a gap, not bridged
    const gaps = pts.slice(1).map((p, j) => p[0] - pts[j][0]).sort((a, b) => a - b);
    const gapMs = gaps.length >= 4 ? 3 * gaps[Math.floor(gaps.length / 2)] : Infinity;
    let d = "";
    pts.forEach((p, j) => {
      const px = x(p[0]).toFixed(1);
      const py = y(p[1]).toFixed(1);
      if (j === 0 || (!s.step && p[0] - pts[j - 1][0] > gapMs)) d += `M${px} ${py}`;
      else if (s.step) d += `H${px}V${py}`;
      else d += `L${px} ${py}`;
    });
    if (s.step) d += `H${x(o.end).toFixed(1)}`;
    const dots = s.dots && pts.length <= 400 ? pts.map((p) => `<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="1.8" fill="${color}"/>`).join("") : "";
    parts.push(`<g clip-path="url(#${clip})"><path class="series" d="${d}" stroke="${color}"/>${dots}</g>`);
    // legend above the plot, so it never hides data
    const [lx, row] = legend.at[i];
    parts.push(`<rect x="${lx.toFixed(1)}" y="${10 + row * 14}" width="10" height="4" fill="${color}"/>`);
    parts.push(`<text class="legend" x="${(lx + 14).toFixed(1)}" y="${16 + row * 14}">${esc(s.name)}</text>`);
  });
  if (!series.some((s) => s.points.length)) parts.push(`<text class="empty" x="${M.left + plotW / 2}" y="${(M.top + h - M.bottom) / 2}" text-anchor="middle">no data</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(o.title)}">${parts.join("")}</svg>`;
}

/** power states as lanes: a bar wherever the state was on */
export function laneChart(o: ChartOptions, changes: Array<{ t: number; state: string; on: boolean }>): string {
  const w = o.width ?? 620;
  const states = [...new Set(changes.map((c) => c.state))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (!states.length) states.push("awake");
  const M: Margins = { ...MARGINS, left: Math.max(MARGINS.left, 12 + Math.max(...states.map((s) => textWidth(s) * 0.96))) };
  const laneH = 18;
  const h = M.top + M.bottom + states.length * laneH + 6;
  const plotW = w - M.left - M.right;
  const x = (t: number) => M.left + ((Math.min(Math.max(t, o.start), o.end) - o.start) / (o.end - o.start || 1)) * plotW;
  const parts: string[] = [];
  parts.push(`<text class="title" x="${M.left}" y="16">${esc(o.title)}</text>`);
  parts.push(`<rect class="plot" x="${M.left}" y="${M.top}" width="${plotW}" height="${h - M.top - M.bottom}"/>`);
  const { ticks, label } = timeTicks(o.start, o.end);
  for (const t of ticks) {
    const xx = x(t).toFixed(1);
    parts.push(`<line class="grid" x1="${xx}" x2="${xx}" y1="${M.top}" y2="${h - M.bottom}"/>`);
    parts.push(`<text class="tick" x="${xx}" y="${h - M.bottom + 13}" text-anchor="middle">${esc(label(t))}</text>`);
  }
  parts.push(`<text class="axis" x="${(M.left + w - M.right) / 2}" y="${h - 4}" text-anchor="middle">time (UTC)</text>`);
  states.forEach((state, i) => {
    const top = M.top + 3 + i * laneH;
    const color = state === "awake" ? "#2ca02c" : state === "radio" ? "#d62728" : PALETTE[(i + 3) % PALETTE.length];
    parts.push(`<text class="tick" x="${M.left - 5}" y="${top + laneH / 2}" text-anchor="end" dominant-baseline="middle">${esc(state)}</text>`);
    // merge intervals per pixel so a day of 5-minute wakes stays small
    let onAt: number | undefined;
    const spans: Array<[number, number]> = [];
    for (const c of changes) {
      if (c.state !== state) continue;
      if (c.on && onAt === undefined) onAt = c.t;
      else if (!c.on && onAt !== undefined) {
        spans.push([onAt, c.t]);
        onAt = undefined;
      }
    }
    if (onAt !== undefined) spans.push([onAt, o.end]);
    let cur: [number, number] | undefined;
    const px: Array<[number, number]> = [];
    for (const [a, b] of spans) {
      const xa = x(a);
      const xb = Math.max(x(b), xa + 0.6); // visible even when short
      if (cur && xa <= cur[1] + 0.3) cur[1] = Math.max(cur[1], xb);
      else {
        if (cur) px.push(cur);
        cur = [xa, xb];
      }
    }
    if (cur) px.push(cur);
    for (const [a, b] of px) parts.push(`<rect class="lane" x="${a.toFixed(1)}" y="${top}" width="${(b - a).toFixed(1)}" height="${laneH - 5}" fill="${color}"/>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(o.title)}">${parts.join("")}</svg>`;
}

function rank(state: string): number {
  return state === "awake" ? 0 : state === "radio" ? 1 : 2;
}

/** horizontal bars, one per label */
export function barChart(title: string, unit: string, rows: Array<[string, number]>, width = 620): string {
  const barH = 16;
  const left = 120;
  const h = 30 + rows.length * barH + 30;
  const max = Math.max(1e-9, ...rows.map((r) => r[1]).filter(Number.isFinite));
  const plotW = width - left - 70;
  const parts = [`<text class="title" x="${left}" y="16">${esc(title)}</text>`];
  rows.forEach(([label, v], i) => {
    const y = 26 + i * barH;
    const bw = Number.isFinite(v) ? (v / max) * plotW : 0;
    parts.push(`<text class="tick" x="${left - 6}" y="${y + barH / 2}" text-anchor="end" dominant-baseline="middle">${esc(label)}</text>`);
    parts.push(`<rect class="bar" x="${left}" y="${y + 2}" width="${bw.toFixed(1)}" height="${barH - 4}" fill="${PALETTE[0]}"/>`);
    parts.push(`<text class="tick" x="${left + bw + 4}" y="${y + barH / 2}" dominant-baseline="middle">${esc(fmt(v))}</text>`);
  });
  parts.push(`<text class="axis" x="${left + plotW / 2}" y="${h - 6}" text-anchor="middle">${esc(unit)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" role="img" aria-label="${esc(title)}">${parts.join("")}</svg>`;
}

/** readings grouped into charts: one per device prefix and unit ("pm" in ug/m3: pm1, pm25, pm10) */
function readingGroups(readings: TraceReading[]): Array<{ key: string; unit: string; series: Map<string, Array<[number, number]>> }> {
  const groups = new Map<string, { key: string; unit: string; series: Map<string, Array<[number, number]>> }>();
  for (const r of readings) {
    const dot = r.name.indexOf(".");
    const prefix = dot > 0 ? r.name.slice(0, dot) : r.name;
    const key = prefix + "|" + r.unit;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key: prefix, unit: r.unit, series: new Map() }));
    const name = dot > 0 ? r.name.slice(dot + 1) : r.name;
    let s = g.series.get(name);
    if (!s) g.series.set(name, (s = []));
    s.push([r.t, r.value]);
  }
  for (const g of groups.values()) for (const s of g.series.values()) s.sort((a, b) => a[0] - b[0]);
  return [...groups.values()].sort((a, b) => a.key.localeCompare(b.key) || a.unit.localeCompare(b.unit));
}

const UNIT_LABEL: { [u: string]: string } = { "/": "ratio", dB: "dB", Cel: "deg C", "%RH": "% RH", A: "A", V: "V", W: "W", mm: "mm", "ug/m3": "ug/m3" };

function unitLabel(u: string): string {
  return u ? UNIT_LABEL[u] ?? u : "value";
}

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:18px 0 6px}.meta{color:#555;margin:0 0 12px}
table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.bad{color:#c00;font-weight:600}.ok{color:#080}
.charts{display:flex;flex-wrap:wrap;gap:8px 16px}
svg.chart{background:#fff}svg .title{font-size:13px;font-weight:600;fill:#222}svg .tick{font-size:10.5px;fill:#444}
svg .axis{font-size:11px;fill:#333}svg .legend{font-size:11px;fill:#222}svg .empty{font-size:12px;fill:#999}
svg .plot{fill:#fcfcfc;stroke:#bbb}svg .grid{stroke:#e6e6e6}svg .series{fill:none;stroke-width:1.4}
.node{page-break-inside:avoid}
`;

const COUNT_COLUMNS: Array<[keyof NodeSummary, string]> = [
  ["readings", "readings"], ["published", "published"], ["acked", "acked"], ["queued", "queued"], ["dropped", "dropped"], ["untimed", "untimed"], ["lost", "lost"], ["receivedAtBroker", "at broker"], ["badTimesAtBroker", "bad time"], ["wakes", "wakes"],
];

function nodeRow(n: NodeSummary): string {
  const cells = COUNT_COLUMNS.map(([k]) => {
    const v = n[k] as number | null | undefined;
    const cls = (k === "lost" || k === "badTimesAtBroker") && v ? ' class="bad"' : "";
    return `<td${cls}>${v === null || v === undefined ? "-" : esc(v)}</td>`;
  });
  return `<tr><td><a href="#node-${esc(n.id)}">${esc(n.id)}</a></td><td>${esc(n.board)}</td>${cells.join("")}<td>${esc(hours(n.awakeMs))}</td><td>${esc(fmt(n.chargeMah))}</td><td>${esc(fmt(n.mahPerDay))}</td><td>${esc(formatLife(n.batteryLifeDays ?? undefined))}</td><td>${esc(n.faults)}</td></tr>`;
}

export function renderReport(summary: FleetSummary, traces: FleetTraces): string {
  const { startMs: start, endMs: end } = traces;
  const head = `<tr><th>node</th><th>board</th>${COUNT_COLUMNS.map(([, l]) => `<th>${esc(l)}</th>`).join("")}<th>awake (h)</th><th>mAh</th><th>mAh/day</th><th>battery life</th><th>faults</th></tr>`;
  const t = summary.totals;
  const totalRow = `<tr><th>fleet (${esc(nodesText(t.nodes))})</th><th></th>${COUNT_COLUMNS.map(([k]) => `<th${k === "lost" && t[k as keyof typeof t] ? ' class="bad"' : ""}>${esc((t as any)[k] ?? "-")}</th>`).join("")}<th>${esc(hours(t.awakeMs))}</th><th>${esc(fmt(t.chargeMah))}</th><th>${esc(fmt(t.mahPerDay))}</th><th></th><th>${esc(t.faults)}</th></tr>`;

  const html: string[] = [];
  html.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>CasaNode simulation report</title><style>${CSS}</style></head><body>`);
  html.push(`<h1>CasaNode simulation report</h1>`);
  html.push(`<p class="meta">${esc(utc(start))} to ${esc(utc(end))} (${esc(formatDuration(end - start))} simulated) &middot; seed ${esc(summary.seed)} &middot; ${esc(nodesText(t.nodes))} on ${esc(summary.boards.join(", "))} &middot; broker ${esc(summary.broker)} &middot; ${esc(fmt(summary.wallMs / 1000))} s wall clock (${esc(fmt(summary.nodeDaysPerSecond))} node-days/s)</p>`);
  html.push(`<p class="meta">Lost readings (taken but neither acknowledged, queued nor dropped): <span class="${t.lost ? "bad" : "ok"}">${esc(t.lost)}</span></p>`);

  html.push(`<h2>Fleet totals</h2><table>${head}${summary.nodes.map(nodeRow).join("")}${totalRow}</table>`);
  html.push(`<p class="meta">Battery life assumes ${esc(Math.round(summary.usableFraction * 100))} % of the nameplate capacity is usable (cold, ageing, self-discharge, regulator cut-off).</p>`);

  // fleet charts
  const fleetCharts: string[] = [];
  const hourMs = end - start > 2 * DAY ? 6 * HOUR : end - start > 6 * HOUR ? HOUR : 10 * 60_000;
  const buckets = new Map<number, number>();
  for (const n of traces.nodes) for (const r of n.readings) {
    const b = Math.floor((r.t - start) / hourMs) * hourMs + start;
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  const perBucket: Array<[number, number]> = [];
  for (let b = start; b < end; b += hourMs) perBucket.push([b, buckets.get(b) ?? 0]);
  fleetCharts.push(lineChart({ title: `Readings received at the broker per ${formatDuration(hourMs)}`, yLabel: "readings", start, end, yMin: 0 }, [{ name: "all nodes", points: perBucket, step: true }]));
  const queueTotal = sumSeries(traces.nodes.map((n) => n.queue), start, end);
  fleetCharts.push(lineChart({ title: "Queue depth, whole fleet", yLabel: "readings waiting", start, end, yMin: 0 }, [{ name: "queued", points: queueTotal, step: true }]));
  fleetCharts.push(barChart("Energy per node", "mAh per day", summary.nodes.map((n) => [n.id, n.mahPerDay])));
  const battery = summary.nodes.filter((n) => typeof n.batteryLifeDays === "number");
  if (battery.length) fleetCharts.push(barChart("Battery life (battery nodes)", "days", battery.map((n) => [n.id, n.batteryLifeDays as number])));
  html.push(`<div class="charts">${fleetCharts.join("")}</div>`);

  if (summary.faults.length) {
    html.push(`<h2>Faults applied</h2><table><tr><th>fault</th><th>node</th><th>device</th><th>from</th><th>to</th></tr>`);
    for (const f of summary.faults) html.push(`<tr><td>${esc(f.kind)}</td><td>${esc(f.node)}</td><td>${esc(f.device ?? "")}</td><td>${esc(new Date(f.startMs).toISOString().slice(0, 19))}</td><td>${esc(new Date(Math.min(f.endMs, end)).toISOString().slice(0, 19))}</td></tr>`);
    html.push(`</table>`);
  }

  html.push(`<h2>Nodes</h2>`);
  const byId = new Map(summary.nodes.map((n) => [n.id, n]));
  for (const n of traces.nodes) {
    const s = byId.get(n.id);
    html.push(`<section class="node" id="node-${esc(n.id)}"><h3>${esc(n.id)} <small>(${esc(n.board)}${s ? ", " + esc(s.power) : ""})</small></h3>`);
    if (s) html.push(`<p class="meta">${esc(s.readings ?? "-")} readings taken, ${esc(s.acked ?? "-")} acknowledged, ${esc(s.receivedAtBroker)} received at the broker, ${esc(s.queued ?? "-")} queued at the end; ${esc(s.wakes)} wakes, ${esc(s.boots)} boots${s.crashes ? `, <span class="bad">${esc(s.crashes)} crashes</span>` : ""}; ${esc(fmt(s.mahPerDay))} mAh/day${s.lastError ? ` &middot; last error: <span class="bad">${esc(s.lastError)}</span>` : ""}</p>`);
    const charts: string[] = [];
    for (const g of readingGroups(n.readings)) {
      charts.push(lineChart({ title: `${g.key}`, yLabel: unitLabel(g.unit), start, end }, [...g.series].map(([name, points]) => ({ name, points, dots: true }))));
    }
    if (!n.readings.length) charts.push(lineChart({ title: "readings", yLabel: "value", start, end }, []));
    charts.push(laneChart({ title: "Power states", yLabel: "", start, end }, n.power));
    charts.push(lineChart({ title: "Cumulative charge", yLabel: "mAh", start, end, yMin: 0 }, [{ name: "charge", points: n.charge }]));
    charts.push(lineChart({ title: "Queue depth", yLabel: "readings waiting", start, end, yMin: 0 }, [{ name: "queued", points: n.queue, step: true }]));
    html.push(`<div class="charts">${charts.join("")}</div></section>`);
  }
  html.push(`</body></html>`);
  return html.join("\n");
}

/** sum step series sampled at different instants */
function sumSeries(all: Array<Array<[number, number]>>, start: number, end: number): Array<[number, number]> {
  const times = [...new Set(all.flatMap((s) => s.map((p) => p[0])))].sort((a, b) => a - b);
  if (!times.length) return [];
  const idx = all.map(() => -1);
  const out: Array<[number, number]> = [];
  for (const t of times) {
    if (t < start || t > end) continue;
    let sum = 0;
    all.forEach((s, i) => {
      while (idx[i] + 1 < s.length && s[idx[i] + 1][0] <= t) idx[i]++;
      if (idx[i] >= 0) sum += s[idx[i]][1];
    });
    out.push([t, sum]);
  }
  return out;
}

/** write the report; returns the file's absolute path */
export function writeReport(summary: FleetSummary, traces: FleetTraces, file: string): string {
  const abs = path.resolve(file);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, renderReport(summary, traces));
  return abs;
}
