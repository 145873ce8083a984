// How long Espruino takes to parse each bundle at boot, measured on the real interpreter
// (Espruino's Linux build), for the simulator's boot time (sim/boot-time.ts).
// Espruino has no parse step of its own: running the bundle's top level lexes its whole text
// once (every function body is skipped token by token). That pass is timed without running
// the firmware (whose top level on the Linux build mostly waits on host I/O: ~1.7 s of
// connect attempts and file-backed flash here): ".bootcde" is flashed, as `casanode flash` does,
// holding "(function(){" + bundle + "})", and eval(require("Storage").read(".bootcde")) is
// timed with getTime(); the same for a trivial script gives the ratio. Fastest of several runs
// (the machine is shared). Run it with: npx tsx bench/boot-time.ts [--write]
// (--write updates sim/boot-data.json; CI has no Espruino build and uses that file).

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "../toolchain/root.mjs";
import { storageWriteCommands } from "../toolchain/storage.js";
import { findEspruino } from "./real-espruino.js";
import { lexedBytes } from "../toolchain/pretokenise.mjs";

const RUNS = 7;
const TRIVIAL = "var x=1;";
const wrap = (code: string) => "(function(){\n" + code + "\n})";

function evalMs(bin: string, code: string): number[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), "casanode-boot-time-"));
  try {
    const cmds = storageWriteCommands(".bootcde", Buffer.from(code, "latin1"));
    writeFileSync(path.join(dir, "flash.js"), cmds.join(";\n") + ";\n");
    spawnSync(bin, ["flash.js"], { cwd: dir, timeout: 60_000, stdio: "ignore" });
    writeFileSync(path.join(dir, "boot.js"), 'var s=require("Storage").read(".bootcde");var t0=getTime();eval(s);var t1=getTime();print("BENCH-EVAL "+((t1-t0)*1000));quit();\n');
    const out: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = spawnSync(bin, ["boot.js"], { cwd: dir, timeout: 20_000, encoding: "latin1", stdio: ["ignore", "pipe", "pipe"] });
      const m = /BENCH-EVAL ([\d.]+)/.exec(r.stdout ?? "");
      if (m) out.push(Number(m[1]));
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fastest = (xs: number[]) => Math.min(...xs);

export function hostMhz(): number {
  try {
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return m ? Math.round(Number(m[1])) : 0;
  } catch {
    return 0;
  }
}

async function main() {
  const { bin, why } = findEspruino();
  if (!bin) throw new Error(why);
  const dist = path.join(ROOT, "dist");
  const trivial = fastest(evalMs(bin, wrap(TRIVIAL)));
  const bundles: { [board: string]: { bytes: number; lexedBytes: number; scanMs: number; ratio: number } } = {};
  for (const f of readdirSync(dist).filter((f) => f.endsWith(".js")).sort()) {
    const code = readFileSync(path.join(dist, f), "latin1");
    const ms = fastest(evalMs(bin, wrap(code)));
    bundles[f.replace(/\.js$/, "")] = { bytes: code.length, lexedBytes: lexedBytes(code), scanMs: +(ms - trivial).toFixed(2), ratio: Math.round(ms / trivial) };
    console.log(`${f}: ${code.length} B (${lexedBytes(code)} lexed), scan ${ms.toFixed(2)} ms (trivial ${trivial.toFixed(3)} ms)`);
  }
  const data = {
    method: `fastest of ${RUNS} runs of eval(require("Storage").read(".bootcde")) timed with getTime() on Espruino's Linux build (${path.basename(bin)}), .bootcde = "(function(){" + dist/<board>.js (the pretokenised image) + "})" flashed with tools/flash.ts's write commands (one lexing pass over the bundle, as its top level makes at boot; the firmware itself not run); scanMs = that minus the same for "${TRIVIAL}"; lexedBytes = the image less the inside of long raw strings (toolchain/pretokenise.mjs), what the rate is taken over; ratio = bundle / trivial`,
    interpreter: path.basename(bin),
    measuredAt: new Date().toISOString().slice(0, 10),
    hostMhz: hostMhz(),
    trivialMs: +trivial.toFixed(3),
    bundles,
  };
  if (process.argv.includes("--write")) {
    writeFileSync(path.join(ROOT, "sim", "boot-data.json"), JSON.stringify(data, null, 2) + "\n");
    console.log("wrote sim/boot-data.json");
  } else console.log(JSON.stringify(data, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(String(e));
    process.exitCode = 1;
  });
}
