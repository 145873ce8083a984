// `casanode diag`: read a node's diagnostics over its console (the firmware's casanode.diag(),
// firmware/runtime/console.ts) and show them to a maintenance crew, once or every few seconds.

import { HEALTH_REQUEST } from "../firmware/runtime/lock-guard.js";
import { FieldError } from "../toolchain/field-error.js";
import { LinkTimeout, openLink, type ConsoleLink, type OpenOptions } from "./console-link.js";
import { ConsoleLocked, relockConsole, Repl, ReplError } from "./repl.js";
import { consoleReporter, type Reporter } from "./reporter.js";

/** What casanode.diag() returns (firmware/runtime/console.ts diagReport); every field may be missing on older firmware. */
export interface DiagReport {
  node?: string;
  site?: string;
  board?: string;
  fw?: string;
  /** node clock, s since the epoch */
  t?: number;
  uptimeS?: number;
  boot?: string;
  /** recent boots [ms, cause], newest last */
  boots?: Array<[number, string]>;
  safe?: string;
  configErrors?: string[];
  counters?: { [name: string]: number };
  queue?: { depth?: number; max?: number; next?: number; done?: number };
  alarms?: string[];
  devices?: { [name: string]: DiagDevice };
  memory?: { free?: number; usage?: number; total?: number } | null;
  wifi?: { rssi?: number | null };
  energy?: { ms?: { [state: string]: number }; mAh?: number };
  flash?: { bytesPerDay?: number; lifeYears?: number | null; error?: string };
  upload?: { last?: number; ok?: boolean; fails?: number; connected?: boolean };
  /** battery nodes: last SNTP answer (s), the RTC's rate in deep sleep (% fast, null: not measured yet), last ask unanswered (s) */
  clock?: { synced?: number; rtcFastPct?: number | null; ntpFail?: number };
  relay?: unknown;
  [more: string]: unknown;
}

export interface DiagDevice {
  model?: string;
  fitted?: boolean;
  reads?: number;
  faults?: number;
  lastFault?: string;
  now?: string;
  /** the driver's describe(): bus, pins, power switch, key options ("" if not fitted; missing on older firmware) */
  desc?: string;
  counters?: { framesOk?: number; checksumErrors?: number; timeouts?: number; rangeErrors?: number; lastGoodMs?: number } | null;
}

/** casanode.diag() on the node, or null when no CasaNode firmware runs there. */
const DIAG_EXPR = 'typeof casanode==="undefined"||!casanode.diag?null:casanode.diag()';
/** diag() walks every driver and the store: give it longer than a plain command. */
const DIAG_TIMEOUT_MS = 10000;

/** No casanode console object on the node. */
export class NoFirmware extends FieldError {}

/**
 * A locked console answers this line, before any login, with "health <diag JSON>" (the same
 * report as casanode.diag(): no secrets) and runs nothing (firmware/runtime/lock.ts).
 */
export { HEALTH_REQUEST };

/** The health report of a locked console, without its password. */
export async function readHealth(link: ConsoleLink, timeoutMs = DIAG_TIMEOUT_MS, loginHint = "give its password with --password"): Promise<DiagReport> {
  link.drain();
  await link.write(HEALTH_REQUEST + "\r\n");
  let m: RegExpExecArray;
  try {
    m = await link.expect(/(?:^|\n)health ([^\r\n]*)\r?\n/, timeoutMs);
  } catch (err) {
    if (!(err instanceof LinkTimeout)) throw err;
    throw new ReplError(`the locked console on ${link.name} gave no health report (firmware older than the console lock?): ${loginHint}`);
  }
  let d: unknown;
  try {
    d = JSON.parse(m[1]);
  } catch {
    d = undefined;
  }
  if (!d || typeof d !== "object" || Array.isArray(d)) throw new ReplError(`garbled health report from the node on ${link.name}: ${m[1].slice(0, 60)}`);
  return d as DiagReport;
}

export async function readDiag(repl: Repl, timeoutMs = DIAG_TIMEOUT_MS): Promise<DiagReport> {
  const d = await repl.eval<unknown>(DIAG_EXPR, timeoutMs);
  if (d === null) throw new NoFirmware(`the node on ${repl.link.name} runs no CasaNode firmware (no casanode.diag()): flash it first`);
  if (!d || typeof d !== "object" || Array.isArray(d)) throw new ReplError(`garbled diag reply from the node on ${repl.link.name}: ${JSON.stringify(d)?.slice(0, 60)}`);
  return d as DiagReport;
}

// ---- the report ----

/** An ESP32's RTC starts at 1970 on power-on: a node clock before 2020 was never set. */
const CLOCK_SET_AFTER_S = Date.UTC(2020, 0, 1) / 1000;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** ESP32 RSSI: above -60 dBm is solid, below -75 drops packets. */
export function rssiQuality(rssi: number): string {
  return rssi >= -60 ? "good" : rssi >= -75 ? "fair" : "weak";
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? "?" : d.toISOString().replace(/\.\d+Z$/, "Z");
}

function n(v: unknown): string {
  return typeof v === "number" && Number.isFinite(v) ? String(v) : "-";
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => "  " + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ").trimEnd());
}

/**
 * A battery node's clock: when SNTP last answered, how fast its RTC runs in deep sleep, an ask
 * left unanswered since (older firmware sends no clock)
 */
export function clockLine(ck: NonNullable<DiagReport["clock"]>, iso: (ms: number) => string, ago: (ms: number) => string): string {
  const synced = ck.synced ? `clock synced ${iso(ck.synced * 1000)} (${ago(ck.synced * 1000)})` : "clock never synced by SNTP";
  const rate = typeof ck.rtcFastPct === "number" ? `RTC ${ck.rtcFastPct >= 0 ? ck.rtcFastPct + " % fast" : -ck.rtcFastPct + " % slow"} in deep sleep` : "RTC rate not measured yet";
  const fail = clockUnanswered(ck) ? `; NO SNTP ANSWER since ${iso(ck.ntpFail! * 1000)}` : "";
  return `${synced}; ${rate}${fail}`;
}

/** the last SNTP ask went unanswered, after the last answer */
export function clockUnanswered(ck: NonNullable<DiagReport["clock"]>): boolean {
  return !!ck.ntpFail && ck.ntpFail > (ck.synced ?? 0);
}

/** A readable report for the crew at the pole. */
export function formatDiag(d: DiagReport): string {
  const lines: string[] = [];
  const nowMs = typeof d.t === "number" ? d.t * 1000 : Date.now();
  const ago = (ms: number) => (ms > 0 ? formatDuration((nowMs - ms) / 1000) + " ago" : "never");
  const clock = d.t ? `  node clock ${iso(d.t * 1000)}${d.t < CLOCK_SET_AFTER_S ? " (not set yet: no time from the network)" : ""}` : "";
  lines.push(`CasaNode ${d.site ?? "?"}/${d.node ?? "?"}  board ${d.board ?? "?"}  firmware ${d.fw ?? "?"}` + clock);

  // health first: what a crew must act on
  lines.push(d.safe ? `  SAFE MODE: ${d.safe}` : "  mode: normal");
  for (const e of d.configErrors ?? []) lines.push(`  config refused: ${e}`);
  if (d.alarms?.length) lines.push(`  alarms: ${d.alarms.join(", ")}`);

  const boots = (d.boots ?? []).slice(-5).map(([t, cause]) => `${cause} ${iso(t)}`);
  lines.push(`  up ${formatDuration(d.uptimeS ?? NaN)} since ${d.boot ?? "?"}; ${n(d.counters?.boots)} boots, ${n(d.counters?.wakes)} wakes` + (boots.length ? `; last boots: ${boots.join(", ")}` : ""));

  lines.push("Network");
  const rssi = d.wifi?.rssi;
  lines.push(typeof rssi === "number" ? `  Wi-Fi ${rssi} dBm (${rssiQuality(rssi)})` : "  Wi-Fi not joined now");
  const up = d.upload ?? {};
  lines.push(
    `  broker ${up.connected ? "connected" : "not connected"}; last upload ${up.last ? `${iso(up.last * 1000)} (${ago(up.last * 1000)}) ${up.ok ? "ok" : "FAILED"}` : "never"}` +
      `; ${n(d.counters?.uploads)} uploads ok, ${n(d.counters?.uploadFails)} failed`,
  );

  const ck = d.clock;
  if (ck) lines.push("  " + clockLine(ck, iso, ago));

  const q = d.queue ?? {};
  const c = d.counters ?? {};
  lines.push("Queue");
  lines.push(`  ${n(q.depth)} readings waiting (max ${n(q.max)}), ${n(c.dropped)} dropped; ${n(c.readings)} read, ${n(c.published)} published, ${n(c.acked)} acknowledged`);
  if (c.cmds !== undefined || c.cmdErrors !== undefined) lines.push(`  commands: ${n(c.cmds)} done, ${n(c.cmdErrors)} refused`);

  const devices = Object.entries(d.devices ?? {});
  lines.push("Devices");
  if (!devices.length) lines.push("  none");
  else {
    const rows = [["name", "model", "frames ok", "checksum", "timeouts", "range", "last good", "now"]];
    for (const [name, dv] of devices) {
      const k = dv.counters;
      rows.push([
        name,
        (dv.model ?? "?") + (dv.fitted === false ? " (absent)" : ""),
        n(k?.framesOk),
        n(k?.checksumErrors),
        n(k?.timeouts),
        n(k?.rangeErrors),
        k ? ago(k.lastGoodMs ?? 0) : "-",
        (dv.now ?? "?") + (dv.faults ? `; ${dv.faults} faults of ${n((dv.reads ?? 0) + dv.faults)} reads${dv.lastFault ? `, last ${dv.lastFault}` : ""}` : ""),
      ]);
    }
    lines.push(...table(rows));
    // one line per device below the table: too wide for a column
    for (const [name, dv] of devices) if (dv.desc) lines.push(`  ${name}: ${dv.desc}`);
  }
  if (d.relay !== undefined && d.relay !== null) lines.push(`  relay: ${JSON.stringify(d.relay)}`);

  lines.push("Resources");
  const mem = d.memory;
  if (mem && typeof mem.total === "number" && typeof mem.free === "number") {
    lines.push(`  memory ${mem.total - mem.free} of ${mem.total} vars used (${Math.round((100 * (mem.total - mem.free)) / mem.total)} %)`);
  } else lines.push("  memory: not reported");
  const f = d.flash ?? {};
  lines.push(`  flash writes ${n(f.bytesPerDay)} B/day` + (typeof f.lifeYears === "number" ? `, wear-out in ~${f.lifeYears} years` : "") + (f.error ? `; STORE ERROR: ${f.error}` : ""));
  const en = d.energy ?? {};
  const states = Object.entries(en.ms ?? {})
    .filter(([, ms]) => ms > 0)
    .map(([state, ms]) => `${state} ${formatDuration(ms / 1000)}`);
  lines.push(`  energy ${n(en.mAh)} mAh since first boot` + (states.length ? ` (${states.join(", ")})` : ""));
  return lines.join("\n");
}

export interface DiagOptions {
  port: string;
  json?: boolean;
  /** poll every this many seconds until interrupted */
  watchS?: number;
  password?: string;
  promptTimeoutMs?: number;
  link?: OpenOptions;
  reporter?: Reporter;
  /** stop watching after this many reports (tests) */
  maxReports?: number;
  /** resolves when the crew interrupts (default: Ctrl-C / SIGINT) */
  stop?: Promise<void>;
  /** clear the terminal between watched reports */
  clear?: boolean;
}

export async function diag(options: DiagOptions): Promise<DiagReport> {
  if (options.watchS !== undefined && !(options.watchS > 0)) throw new FieldError("--watch takes a period in seconds above 0", 2);
  const out = options.reporter ?? consoleReporter();
  const link = await openLink(options.port, options.link);
  let reached = false;
  try {
    const repl = new Repl(link, { password: options.password, promptTimeoutMs: options.promptTimeoutMs });
    // locked and no password: the health report the console gives before login
    let locked = false;
    try {
      await repl.attach();
    } catch (err) {
      if (!(err instanceof ConsoleLocked)) throw err;
      locked = true;
    }
    reached = true;
    // the report is ready at once, not walked through drivers as diag() is: the prompt wait will do
    const read = () => (locked ? readHealth(link, repl.promptTimeoutMs) : readDiag(repl));
    let report = await read();
    if (locked && !options.json) out.line("(console locked: the health report it gives without a password)");
    show(out, report, options, false);
    if (options.watchS === undefined) return report;

    const stop = options.stop ?? interrupted();
    let stopped = false;
    void stop.then(() => (stopped = true));
    for (let count = 1; !stopped && (options.maxReports === undefined || count < options.maxReports); count++) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise((r) => (timer = setTimeout(r, options.watchS! * 1000))), stop]);
      clearTimeout(timer);
      if (stopped) break;
      try {
        report = await read();
        show(out, report, options, true);
      } catch (err) {
        if (!(err instanceof ReplError)) throw err;
        // a battery node sleeps between cycles: keep trying
        out.line(`${new Date().toISOString()}: no report (${err.message}); retrying every ${options.watchS} s`);
        if (!locked) await reattach(repl, link).catch(() => {});
      }
    }
    return report;
  } finally {
    // a logged-in console left behind would hand the next person the node's secrets
    if (reached) await relockConsole(link, options.password, out).catch(() => false);
    await link.close();
  }
}

async function reattach(repl: Repl, link: ConsoleLink): Promise<void> {
  link.drain();
  await repl.attach();
}

function show(out: Reporter, report: DiagReport, options: DiagOptions, again: boolean): void {
  if (options.json) return out.line(JSON.stringify(report, null, options.watchS === undefined ? 2 : undefined));
  if (again && options.clear) out.line("\x1b[2J\x1b[H");
  if (again && !options.clear) out.line("");
  out.line(formatDiag(report));
}

function interrupted(): Promise<void> {
  return new Promise((resolve) => process.once("SIGINT", () => resolve()));
}
