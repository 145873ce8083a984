// The bundle's memory on the real interpreter: Espruino's Linux build with the ESP32's fixed
// 16383 variables (ESPRUINO_BIN, or an `espruino` binary on PATH). Optional: skipped when
// there is none, never needed in CI.
//
// As flashing does (toolchain/storage.ts), the bundle goes into a Storage file (".bootcde") with
// the same REPL write commands, plus the provisioning config ("casanode.json"); a second run
// then evaluates it with eval(require("Storage").read(".bootcde")), which leaves function
// bodies in flash, and prints process.memory().usage: right after the evaluation returns
// (the boot's peak: the evaluation's own temporaries are still held), at the first idle
// moment, and the largest and last figures over a few seconds of running.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, accessSync, statSync, openSync, readSync, closeSync, constants } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BOOT_FILE, storageWriteCommands } from "../toolchain/storage.js";

const CONFIG_FILE = "casanode.json";
/** output kept from a run (a failing bundle prints its source in error traces) */
const MAX_OUTPUT_CHARS = 200_000;

export interface RealMemory {
  /** usage right after eval() returned */
  afterEval?: number;
  /** at the first idle moment (setTimeout 0), after a garbage collection */
  idle?: number;
  /** largest and last usage over the run */
  max?: number;
  last?: number;
  total?: number;
  /** "ran", or what stopped it: "out of memory", "error: ...", "timeout" */
  outcome: string;
  /** the firmware's first lines (boot line, errors), for the report */
  notes: string[];
}

/** how to give the bench an interpreter, for skip messages */
export const ESPRUINO_HOW =
  "set ESPRUINO_BIN to Espruino's Linux build (BOARD=LINUX make; with the ESP32's 16383 variables for ESP32 figures) or put it on PATH as espruino";

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isScript(file: string): boolean {
  const head = Buffer.alloc(2);
  const fd = openSync(file, "r");
  try {
    readSync(fd, head, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  return head.toString("latin1") === "#!";
}

/**
 * The interpreter: ESPRUINO_BIN, else an `espruino` on PATH that is a binary. Scripts named
 * espruino are passed over: npm's `espruino` package (node_modules/.bin/espruino, on PATH in
 * npm scripts) is the upload tool, which would try to reach a board. `why` says what is missing.
 */
export function findEspruino(env: NodeJS.ProcessEnv = process.env): { bin: string | null; why?: string } {
  if (env.ESPRUINO_BIN) {
    return executable(env.ESPRUINO_BIN) ? { bin: env.ESPRUINO_BIN } : { bin: null, why: `ESPRUINO_BIN=${env.ESPRUINO_BIN} is not an executable file; ${ESPRUINO_HOW}` };
  }
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, "espruino");
    if (executable(file) && !isScript(file)) return { bin: file };
  }
  return { bin: null, why: `no Espruino interpreter: ${ESPRUINO_HOW}` };
}


/** Run `file` (in `cwd`, whose espruino.flash is its Storage) on the interpreter; output with \r removed. */
export function runOnEspruino(bin: string, file: string, cwd: string, timeoutMs: number): Promise<{ out: string; code: number | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(bin, [file], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const take = (d: Buffer) => {
      if (out.length < MAX_OUTPUT_CHARS) out += d.toString("latin1");
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ out: out.replace(/\r/g, ""), code, timedOut });
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ out: String(e), code: -1, timedOut: false });
    });
  });
}

/**
 * The ESP32 module a battery bundle needs to take its battery path on the Linux build (which
 * has none, so it would run as a mains node): a power-on, and a deep sleep that ends the run
 * as the chip would, once measured (quit() ends it at the next idle: docs/espruino-dialect.md).
 */
const BATTERY_ESP32 = `global.ESP32 = {
  deepSleep: function (us) { MEM("sleep"); print("BENCH-SLEEP " + us); quit(); },
  getWakeupCause: function () { return 0; },
  getState: function () { return { BLE: false }; },
  reboot: function () { quit(); }
};`;

/** the longest a battery run may take to reach its deep sleep */
const BATTERY_RUN_MS = 60_000;

/** the script of the measuring run; `battery`: as a battery node, to its first deep sleep */
function measureScript(runMs: number, battery: boolean): string {
  return `
var MEM = function (tag) { var m = process.memory(); print("BENCH-MEM " + tag + " " + m.usage + " " + m.total); };
${battery ? BATTERY_ESP32 : ""}
MEM("start");
eval(require("Storage").read(${JSON.stringify(BOOT_FILE)}));
MEM("eval");
setTimeout(function () { MEM("idle"); }, 0);
var benchTick = setInterval(function () { MEM("tick"); }, 250);
setTimeout(function () { clearInterval(benchTick); MEM("last"); quit(); }, ${runMs});
`;
}

/**
 * Flash `bundle` (+ config) into the Storage of `dir` (./espruino.flash) with the REPL commands
 * `casanode flash` sends, run as a file. null once the bundle reads back whole, else what the run printed.
 */
export async function flashOnEspruino(bin: string, dir: string, bundle: string, config: object | undefined): Promise<string[] | null> {
  const cmds = storageWriteCommands(BOOT_FILE, Buffer.from(bundle, "latin1"));
  if (config !== undefined) cmds.push(`require("Storage").write(${JSON.stringify(CONFIG_FILE)},${JSON.stringify(JSON.stringify(config))})`);
  cmds.push(`print("BENCH-FLASHED "+require("Storage").read(${JSON.stringify(BOOT_FILE)}).length)`);
  writeFileSync(path.join(dir, "flash.js"), cmds.join(";\n") + ";\n");
  const flashed = await runOnEspruino(bin, "flash.js", dir, 30_000);
  const m = /BENCH-FLASHED (\d+)/.exec(flashed.out);
  return m && Number(m[1]) === Buffer.byteLength(bundle, "latin1") ? null : tail(flashed.out);
}

/** Flash `bundle` (+ config) into a fresh Storage and measure it on the real interpreter. */
/** `battery`: the bundle is a battery board's, measured on its battery path (BATTERY_ESP32) */
export async function measureOnEspruino(bin: string, bundle: string, config: object | undefined, opts: { runMs?: number; battery?: boolean } = {}): Promise<RealMemory> {
  // a battery run ends at its deep sleep: after its sensors' warm-up and read (an SDS011's 15 s
  // and more, a UART sensor's timeout on the Linux build), its upload and its SNTP wait
  const runMs = opts.battery ? Math.max(opts.runMs ?? 0, BATTERY_RUN_MS) : opts.runMs ?? 3000;
  const dir = mkdtempSync(path.join(os.tmpdir(), "casanode-bench-espruino-"));
  try {
    // 1. flash: the REPL commands `casanode flash` sends, run as a file (Storage lives in ./espruino.flash)
    const failed = await flashOnEspruino(bin, dir, bundle, config);
    if (failed) return { outcome: "flash failed", notes: failed };
    // 2. boot it, then again on what the first boot left in Storage (its state, an idle OTA
    // record): a later boot takes other paths than the first (docs/espruino-dialect.md, var)
    writeFileSync(path.join(dir, "boot.js"), measureScript(runMs, !!opts.battery));
    const r = await runOnEspruino(bin, "boot.js", dir, runMs + 15_000);
    const first = parseMeasure(r.out, r.timedOut);
    if (first.outcome !== "ran") return first;
    const again = await runOnEspruino(bin, "boot.js", dir, runMs + 15_000);
    const second = parseMeasure(again.out, again.timedOut);
    if (second.outcome !== "ran") first.outcome = "second boot: " + second.outcome;
    if (second.max !== undefined && (first.max === undefined || second.max > first.max)) first.max = second.max;
    return first;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function parseMeasure(out: string, timedOut: boolean): RealMemory {
  const res: RealMemory = { outcome: "ran", notes: [] };
  let max = 0;
  for (const m of out.matchAll(/BENCH-MEM (\w+) (\d+) (\d+)/g)) {
    const usage = Number(m[2]);
    res.total = Number(m[3]);
    if (m[1] === "eval") res.afterEval = usage;
    if (m[1] === "idle") res.idle = usage;
    // a battery run ends at its deep sleep
    if (m[1] === "last" || m[1] === "sleep") res.last = usage;
    if (m[1] !== "start") max = Math.max(max, usage);
  }
  if (max) res.max = max;
  const bootFailed = /CasaNode boot failed: ([^\r\n]*)/.exec(out);
  if (/OUT OF MEMORY|LOW_MEMORY/.test(out)) res.outcome = "out of memory";
  else if (timedOut) res.outcome = "timeout";
  else if (bootFailed) res.outcome = "boot failed: " + bootFailed[1].trim();
  else if (res.last === undefined) {
    const err = /(Uncaught [^\n]*|SyntaxError[^\n]*|ReferenceError[^\n]*)/.exec(out);
    res.outcome = "stopped: " + (err ? err[1].trim() : "no output");
  }
  res.notes = firmwareLines(out);
  return res;
}

/** the firmware's own short lines (boot line, errors), without the banner and error traces */
function firmwareLines(out: string): string[] {
  const lines: string[] = [];
  for (const raw of out.split("\n")) {
    const line = raw.replace(/\x1b\[J/g, "").replace(/^>+/, "").trim();
    if (!line || line.startsWith("BENCH-") || line.length > 160 || line === "^") continue;
    if (/^(_+|\|.*|Espruino is Open Source|only by sales|http:\/\/espruino\.com|\d+v\d+.*\(c\)|at .*\(:\d+:\d+\))/.test(line)) continue;
    if (!lines.includes(line)) lines.push(line);
    if (lines.length >= 12) break;
  }
  return lines;
}

function tail(out: string): string[] {
  return out.trim().split("\n").slice(-5);
}
