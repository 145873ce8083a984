// `casanode bench`: the project's figures, each measured by running the real code: bundle
// sizes, memory (simulator model and, when present, the real interpreter), energy per cycle
// and per day with battery life, bytes on the air, flash wear, simulator speed and MQTT
// throughput. Prints one table per board plus the current figures, and writes JSON.
// What each figure means: bench/README.md.

import { Command, CommanderError } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { boardNames } from "../toolchain/boards.mjs";
import { ROOT } from "../toolchain/root.mjs";
import { DurationError, formatDuration, parseDuration } from "../sim/duration.js";
import type { BoardProfile } from "../firmware/board.js";
import { BOOT_BASE_MS, cpuFactor } from "../sim/boot-time.js";
import { DEFAULT_NET_LATENCY } from "../sim/espruino/net.js";

export const SECTIONS = ["bundle", "memory", "currents", "energy", "radio", "flash", "speed", "mqtt", "ota", "city"] as const;
export type Section = (typeof SECTIONS)[number];
/** what a plain `casanode bench` runs: the city's hour takes ~12 min on 2 cores, so it is asked for by name */
export const DEFAULT_SECTIONS: Section[] = SECTIONS.filter((s) => s !== "city");

const DAY_MS = 86_400_000;
const ESP32_VARS = 16383;

export interface BenchOptions {
  /** sections to run (default: all) */
  only?: Section[];
  /** shorter runs: a 3 h day run, 20 nodes for 3 h, 500 MQTT messages, the real interpreter on linux.js only */
  quick?: boolean;
  /** boards (default: every profile) */
  boards?: string[];
  /** virtual time of the per-board run (energy, radio, flash, memory model) */
  dayMs?: number;
  speedNodes?: number;
  speedMs?: number;
  /** the city section: nodes and simulated time (default 10,000 for 1 h; --quick 1,000) */
  cityNodes?: number;
  cityMs?: number;
  mqttMessages?: number;
  mosquitto?: boolean;
  /** the real interpreter: false = skip; boards to try (default: all, --quick: linux) */
  real?: boolean;
  realBoards?: string[];
  realRunMs?: number;
  seed?: number;
  /** progress lines */
  log?: (line: string) => void;
}

export interface BoardBench {
  board: string;
  power: "battery" | "mains";
  bundle?: import("../bench/bundle.js").BundleSize;
  memory?: {
    /** vars in all on the device (ESP32) */
    total: number;
    /** the simulator's estimate (sim/espruino/memory.ts): after the first boot's run, largest seen over the run */
    modelAfterBoot?: number;
    modelMax?: number;
    /** the real interpreter (Linux build with 16383 vars) */
    real?: import("../bench/real-espruino.js").RealMemory;
  };
  energy?: import("../bench/energy.js").EnergyFigures;
  radio?: import("../bench/energy.js").RadioFigures;
  flash?: import("../bench/energy.js").FlashFigures;
  /** crashes and the last error of the node in the day run */
  crashes?: number;
  lastError?: string;
}

export interface BenchResults {
  date: string;
  /** loadAverage: os.loadavg() when the bench ended (other work on the machine slows the wall-clock figures) */
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverage: number[] };
  options: { sections: Section[]; quick: boolean; dayMs?: number; seed: number };
  boards: BoardBench[];
  currents?: import("../bench/currents.js").CurrentRow[];
  speed?: import("../bench/sim-speed.js").SpeedFigures;
  /** the same fleet over one worker process per core (casanode sim --shards), where there is more than one core */
  speedSharded?: import("../bench/sim-speed.js").SpeedFigures;
  /** CPU seconds a node-day, by board (one board at a time, in this process) */
  speedByBoard?: import("../bench/sim-speed.js").BoardCost[];
  city?: import("../bench/city.js").CityFigures;
  mqtt?: import("../bench/mqtt.js").MqttSection;
  /** an over-the-air update: a battery fleet and a mains fleet, with and without a rollout */
  ota?: import("../bench/ota.js").OtaFigures[];
  realInterpreter?: { bin: string | null; skipped?: string };
  /** assumptions behind the figures */
  assumptions: string[];
  /** what was not measured, and why */
  skipped: string[];
  wallMs: number;
}

async function loadProfiles(boards: string[]): Promise<BoardProfile[]> {
  const { loadProfile } = await import("../sim/fleet.js");
  const out: BoardProfile[] = [];
  for (const b of boards) out.push(await loadProfile(b));
  return out;
}

function progress(log: (line: string) => void, what: string) {
  let last = -1;
  return (done: number, total: number) => {
    const decile = Math.floor((done / Math.max(1, total)) * 10);
    if (decile === last) return;
    last = decile;
    log(`bench: ${what} ${decile * 10}% (${formatDuration(Math.round(done / 60_000) * 60_000)} of ${formatDuration(total)})`);
  };
}

export async function runBench(o: BenchOptions = {}): Promise<BenchResults> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const quick = !!o.quick;
  const sections: Section[] = o.only && o.only.length ? SECTIONS.filter((s) => o.only!.includes(s)) : [...DEFAULT_SECTIONS];
  const want = (s: Section) => sections.includes(s);
  const seed = o.seed ?? 1;
  const all = boardNames();
  const boards = o.boards && o.boards.length ? o.boards : all;
  const profiles = await loadProfiles(boards);
  const rows: BoardBench[] = profiles.map((p) => ({ board: p.name, power: p.power.source }));
  const row = (b: string) => rows.find((r) => r.board === b)!;
  const skipped: string[] = [];
  const assumptions: string[] = [];
  const res: BenchResults = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "", node: process.version, platform: `${os.platform()} ${os.arch()}`, loadAverage: [] },
    options: { sections, quick, seed },
    boards: rows,
    assumptions,
    skipped,
    wallMs: 0,
  };

  if (want("bundle") || want("memory")) {
    log("bench: bundles");
    const { bundleSizes } = await import("../bench/bundle.js");
    for (const s of await bundleSizes(boards)) if (want("bundle")) row(s.board).bundle = s;
  }

  if (want("currents")) {
    const { currentsTable } = await import("../bench/currents.js");
    res.currents = currentsTable(profiles);
  }

  if (want("memory") && o.real !== false) {
    const { realMemory } = await import("../bench/bundle.js");
    const realBoards = (o.realBoards ?? (quick ? ["linux"] : boards)).filter((b) => boards.includes(b));
    log(`bench: real interpreter (${realBoards.join(", ")})`);
    const r = await realMemory(realBoards, { runMs: o.realRunMs ?? (quick ? 1500 : 3000) });
    res.realInterpreter = { bin: r.bin, skipped: r.skipped };
    if (r.skipped) skipped.push("memory on the real interpreter: " + r.skipped);
    for (const [b, m] of Object.entries(r.boards)) {
      row(b).memory = { total: ESP32_VARS, ...row(b).memory, real: m };
    }
    if (r.bin) {
      assumptions.push(
        `real memory: ${r.bin} (Espruino's Linux build with 16383 vars, as ESP32). ESP32 bundles run there without Wifi and with their UART/analog pins absent (they report it): a mains board's as it runs, a battery board's with a stand-in ESP32 module, from power-on (clock set, a cycle, an upload with its diag) to its first deep sleep, twice; the counts cover the code and its objects.`,
      );
    }
  } else if (want("memory")) skipped.push("memory on the real interpreter: not asked for (--no-real)");

  if (want("memory") || want("energy") || want("radio") || want("flash")) {
    // --quick: long enough for one 6 h send period of the bin boards
    const dayMs = o.dayMs ?? (quick ? 7 * 3_600_000 : DAY_MS);
    res.options.dayMs = dayMs;
    log(`bench: one node per board for ${formatDuration(dayMs)} of simulated time`);
    const { runDay } = await import("../bench/day.js");
    const { energyFigures, radioFigures, flashFigures } = await import("../bench/energy.js");
    const day = await runDay({ boards, durationMs: dayMs, seed, onProgress: progress(log, "day run") });
    for (const probe of day.probes) {
      const r = row(probe.board);
      const node = day.nodes.find((n) => n.id === probe.id)!;
      r.crashes = node.crashes;
      if (node.lastError) r.lastError = node.lastError;
      if (want("memory")) {
        r.memory = {
          total: ESP32_VARS,
          ...r.memory,
          modelAfterBoot: probe.memoryFirstBoot,
          modelMax: Math.max(probe.memoryMax, probe.memoryFirstBoot ?? 0),
        };
      }
      if (want("energy")) r.energy = energyFigures(probe, node, day.durationMs, day.summary.startMs);
      if (want("radio")) r.radio = radioFigures(probe, node, day.durationMs);
      if (want("flash")) r.flash = flashFigures(probe, day.durationMs);
    }
    if (dayMs !== DAY_MS) assumptions.push(`per-board figures from ${formatDuration(dayMs)} of simulated time, scaled to a day`);
    if (want("energy")) {
      assumptions.push(
        `energy: the simulator's model (sim/node.ts): board sleep/awake current + radio while Wi-Fi is on + each device's current as its twin draws it, integrated over virtual time; cycles are awake periods from wake to deep sleep, boot included (sim/boot-time.ts: ${BOOT_BASE_MS} ms + the bundle's parse time measured on Espruino's Linux build x ${cpuFactor().toFixed(1)} for the ESP32, sim/boot-data.json); network round trips ${DEFAULT_NET_LATENCY.rttMinMs}-${DEFAULT_NET_LATENCY.rttMaxMs} ms (sim/espruino/net.ts); the power-on boot is left out; battery nodes provisioned with a static address (DHCP at power-on and once a day); wake phases from the node's console lines and MQTT packets (bench/day.ts PHASES)`,
        `mAh per day split: sample and upload wakes = their count a day x mean charge; sleep = the rest (deep-sleep floor)`,
        `battery life: nameplate capacity x ${day.summary.usableFraction} usable (sim/energy.ts: cold, ageing, self-discharge, regulator cut-off) / charge per day`,
      );
    }
    if (want("radio")) assumptions.push("bytes on the air: TCP payload the node wrote and read (MQTT framing, CONNECT, SUBSCRIBE, status, PINGREQ, DISCONNECT included), per reading the broker acknowledged; IP/TCP/Wi-Fi headers are extra");
    if (want("flash")) {
      const { FLASH_ENDURANCE_CYCLES } = await import("../firmware/runtime/diag-figures.js");
      assumptions.push(
        `flash life: ${FLASH_ENDURANCE_CYCLES} erase cycles per 4 KB sector (ESP32 module flash datasheets); Espruino's Storage appends and erases only when it compacts, so wear spreads over the whole Storage area (896 KB on ESP32 2v26+, 256 KB on the Linux build); each compaction erases the area to reclaim (size - live files), so erases per sector per day = bytes written per day / (size - live); firmware/runtime/diag-figures.ts flashLifeYears`,
      );
    }
  }

  if (want("speed")) {
    const nodes = o.speedNodes ?? (quick ? 20 : 100);
    const speedMs = o.speedMs ?? (quick ? 3 * 3_600_000 : DAY_MS);
    log(`bench: simulator speed, ${nodes} nodes for ${formatDuration(speedMs)}`);
    const { benchSimSpeed, benchBoardCosts } = await import("../bench/sim-speed.js");
    res.speed = await benchSimSpeed({ nodes, durationMs: speedMs, seed, onProgress: progress(log, "fleet") });
    const costNodes = quick ? 2 : 5;
    log(`bench: CPU per node-day, ${costNodes} nodes of each board for ${formatDuration(speedMs)}`);
    res.speedByBoard = await benchBoardCosts({ nodes: costNodes, durationMs: speedMs, seed });
    const cores = os.availableParallelism();
    if (cores > 1) {
      log(`bench: simulator speed over ${cores} shards`);
      res.speedSharded = await benchSimSpeed({ nodes, durationMs: speedMs, seed, shards: cores, onProgress: progress(log, "fleet") });
    }
  }

  if (want("mqtt")) {
    log("bench: MQTT client throughput");
    const { benchMqtt } = await import("../bench/mqtt.js");
    res.mqtt = await benchMqtt({ messages: o.mqttMessages ?? (quick ? 500 : 5000), mosquitto: o.mosquitto });
    for (const s of res.mqtt.skipped) skipped.push("MQTT throughput to " + s);
  }

  if (want("ota")) {
    const { benchOta } = await import("../bench/ota.js");
    const nodes = o.speedNodes ?? (quick ? 10 : 100);
    res.ota = [];
    // battery: bins at their defaults (a send every 6 h, so the manifest waits for that connect)
    log(`bench: OTA, ${nodes} esp32-bin nodes for 14h, with and without an update at 1h`);
    res.ota.push(await benchOta({ board: "esp32-bin", nodes, durationMs: 14 * 3_600_000, atMs: 3_600_000, seed, onProgress: progress(log, "ota bin") }));
    log(`bench: OTA, ${nodes} esp32-noise nodes for 1h, with and without an update at 10m`);
    res.ota.push(await benchOta({ board: "esp32-noise", nodes, durationMs: 3_600_000, atMs: 600_000, seed, onProgress: progress(log, "ota noise") }));
    assumptions.push(
      "ota: bytes are TCP payload (MQTT) the node sent and read, with the rollout minus without (same seed); charge is the simulator's energy model, which does not price CPU time: staging and the 84 KB SHA-256 in plain JS add ~95 s awake on an ESP32 (docs/ota.md, ~1.1 mAh at 40 mA); done = the node's 'ota: <fw> confirmed' line, timed from the publication",
    );
  }

  if (want("city")) {
    const nodes = o.cityNodes ?? (quick ? 1000 : 10_000);
    const cityMs = o.cityMs ?? 3_600_000;
    log(`bench: a city, ${nodes} nodes for ${formatDuration(cityMs)} against Mosquitto`);
    const { benchCity } = await import("../bench/city.js");
    const c = await benchCity({ nodes, durationMs: cityMs, onProgress: progress(log, "city") });
    if ("skipped" in c) skipped.push("city: " + c.skipped);
    else res.city = c;
  } else if (!o.only?.length) skipped.push("city (10,000 nodes for 1 h against Mosquitto, ~12 min here): ask for it with --only city");

  res.wallMs = performance.now() - t0;
  res.machine.loadAverage = os.loadavg();
  return res;
}

// ---------------------------------------------------------------------------------------------
// the table

function num(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "-";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function life(days: number | null | undefined): string {
  if (days === null || days === undefined) return "mains";
  if (!Number.isFinite(days)) return "inf";
  return days >= 730 ? (days / 365.25).toFixed(1) + " y" : Math.round(days) + " d";
}

function years(y: number | undefined): string {
  if (y === undefined || !Number.isFinite(y)) return "inf";
  return y >= 1000 ? num(y) + " y" : y >= 10 ? y.toFixed(0) + " y" : y.toFixed(1) + " y";
}

function grid(header: string[], rows: string[][], align: ("l" | "r")[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => ((align[i] ?? (i === 0 ? "l" : "r")) === "l" ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** the per-board table: one column per board, one row per figure */
export function formatBoardTable(r: BenchResults): string {
  const b = r.boards;
  const out: string[][] = [];
  const section = (title: string) => out.push([title, ...b.map(() => "")]);
  const add = (label: string, f: (x: BoardBench) => string) => out.push(["  " + label, ...b.map(f)]);
  const has = (k: keyof BoardBench) => b.some((x) => x[k] !== undefined);

  out.push(["power", ...b.map((x) => x.power)]);
  if (has("bundle")) {
    section("bundle");
    add("minified bytes", (x) => num(x.bundle?.bytes));
    add("gzip bytes", (x) => num(x.bundle?.gzipBytes));
  }
  if (has("memory")) {
    section(`JS vars used (of ${ESP32_VARS})`);
    add("model, after boot", (x) => num(x.memory?.modelAfterBoot));
    add("model, max in run", (x) => num(x.memory?.modelMax));
    if (b.some((x) => x.memory?.real)) {
      add("real, after eval", (x) => num(x.memory?.real?.afterEval));
      add("real, max in run", (x) => num(x.memory?.real?.max));
      add("real, outcome", (x) => x.memory?.real?.outcome ?? "-");
    }
  }
  if (has("energy")) {
    section("energy");
    add("period sample/up s", (x) => (x.energy ? `${x.energy.samplePeriodS}/${x.energy.uploadPeriodS}` : "-"));
    add("sample cycle awake s", (x) => (x.energy?.alwaysOn ? "always on" : num(x.energy?.sampleCycle?.awakeMs !== undefined ? x.energy.sampleCycle.awakeMs / 1000 : undefined, 1)));
    add("sample cycle mAh", (x) => num(x.energy?.alwaysOn ? x.energy.mahPerPeriod : x.energy?.sampleCycle?.mah, 3) + (x.energy?.alwaysOn && x.energy.mahPerPeriod !== null ? "*" : ""));
    add("upload cycle awake s", (x) => (x.energy?.alwaysOn ? "always on" : num(x.energy?.uploadCycle?.awakeMs !== undefined ? x.energy.uploadCycle.awakeMs / 1000 : undefined, 1)));
    add("upload cycle mAh", (x) => (x.energy?.alwaysOn ? "-" : num(x.energy?.uploadCycle?.mah, 3)));
    add("  planned (grid, static IP) s / mAh", (x) => (x.energy?.alwaysOn || !x.energy?.plannedUploadCycle ? "-" : `${num(x.energy.plannedUploadCycle.awakeMs / 1000, 2)} / ${num(x.energy.plannedUploadCycle.mah, 3)}`));
    const phaseRow = (kind: "sampleCycle" | "uploadCycle", names: string[]) => (x: BoardBench) => {
      const f = x.energy?.[kind];
      if (x.energy?.alwaysOn || !f) return "-";
      return names.map((n) => (f.phases[n] === undefined ? "-" : num(f.phases[n]))).join("/");
    };
    if (b.some((x) => x.energy?.sampleCycle?.phases.warmUp !== undefined)) add("warm-up wake ms / then asleep", phaseRow("sampleCycle", ["warmUp", "warmAsleep"]));
    add("sample wake ms: boot/sensors/sleep", phaseRow("sampleCycle", ["boot", "sensors", "sleep"]));
    add("upload wake ms: boot/sensors/join", phaseRow("uploadCycle", ["boot", "sensors", "join"]));
    add("  .../MQTT/sleep", phaseRow("uploadCycle", ["mqtt", "sleep"]));
    add("cycles / uploads a day", (x) => (x.energy ? `${num(x.energy.cyclesPerDay)} / ${num(x.energy.uploadsPerDay)}` : "-"));
    add("awake / radio share", (x) => (x.energy ? `${num(x.energy.awakeShare * 100, 1)}% / ${num(x.energy.radioShare * 100, 1)}%` : "-"));
    add("average mA", (x) => num(x.energy?.averageMa, 2));
    add("mAh per day", (x) => num(x.energy?.mahPerDay, 2));
    add("  sleep/sample/upload wakes", (x) => (x.energy?.split ? [x.energy.split.sleep, x.energy.split.sampleWakes, x.energy.split.uploadWakes].map((v) => num(v, 2)).join(" / ") : "-"));
    add("battery mAh", (x) => num(x.energy?.batteryMah));
    add(`battery life (${num((b.find((x) => x.energy)?.energy?.usableFraction ?? 0.8) * 100)}% usable)`, (x) => (x.energy ? life(x.energy.batteryLifeDays) : "-"));
  }
  if (has("radio")) {
    section("on the air (TCP payload)");
    add("readings a day", (x) => num(x.radio?.readingsPerDay));
    add("tx bytes / reading", (x) => num(x.radio?.txBytesPerReading, 1));
    add("rx bytes / reading", (x) => num(x.radio?.rxBytesPerReading, 1));
    add("data PUBLISH B / reading", (x) => num(x.radio?.dataBytesPerReading, 1));
    add("data messages / upload", (x) => num(x.radio?.messagesPerUpload, 2));
    add("PUBLISH / upload", (x) => num(x.radio?.publishesPerUpload, 2));
    add("connects a day", (x) => num(x.radio?.connectsPerDay));
    add("tx kB a day", (x) => num(x.radio ? x.radio.txBytesPerDay / 1000 : undefined, 1));
  }
  if (has("flash")) {
    section("flash (Storage)");
    add("bytes written a day", (x) => num(x.flash?.bytesPerDay));
    add("live files bytes", (x) => num(x.flash?.liveBytes));
    add("Storage area bytes", (x) => num(x.flash?.storageBytes));
    add("erases/sector/day", (x) => num(x.flash?.erasesPerSectorPerDay, 3));
    add("years to wear out", (x) => years(x.flash?.years));
  }
  if (b.some((x) => x.crashes)) add("crashes in run", (x) => num(x.crashes));
  return grid(["", ...b.map((x) => x.board)], out);
}

export function formatBench(r: BenchResults): string {
  const parts: string[] = [];
  parts.push(`CasaNode bench, ${r.date.slice(0, 19).replace("T", " ")} UTC, ${r.machine.cpus} x ${r.machine.cpuModel.trim()}, Node ${r.machine.node}, load average ${(r.machine.loadAverage[0] ?? 0).toFixed(1)} at the end${r.options.quick ? ", --quick" : ""}`);
  if (r.boards.some((x) => x.bundle || x.memory || x.energy || x.radio || x.flash)) {
    parts.push("");
    parts.push(formatBoardTable(r));
  }
  if (r.boards.some((x) => x.energy?.alwaysOn)) parts.push("* mains boards never deep-sleep: charge per sampling period (charge a day / cycles a day)");
  const real = r.boards.filter((x) => x.memory?.real);
  if (real.length) {
    parts.push("");
    parts.push("real interpreter, what the firmware printed:");
    for (const x of real) parts.push(`  ${x.board}: ${x.memory!.real!.notes.filter((n) => !/^(CasaNode|devices:|WARNING)/.test(n)).join(" | ") || "(nothing unusual)"}`);
  }
  if (r.currents) {
    parts.push("");
    parts.push("current figures used (boards/profiles/currents.ts; sources: sim/current-sources.ts)");
    parts.push(grid(["part", "on mA", "off mA", "boards", "source"], r.currents.map((c) => [c.part, num(c.onMa, c.onMa % 1 ? 2 : 0), num(c.offMa, c.offMa % 1 ? 2 : 0), c.boards.map((b) => b.replace(/^esp32-/, "")).join(",") || "-", c.source]), ["l", "r", "r", "l", "l"]));
  }
  for (const s of [r.speed, r.speedSharded]) {
    if (!s) continue;
    const cpu = s.cpuMs === null ? "" : `, ${(s.cpuMs / 1000).toFixed(1)} s CPU`;
    const perCpu = s.nodeDaysPerCpuSecond === null ? "" : `, ${num(s.nodeDaysPerCpuSecond, 2)} per CPU second`;
    parts.push("");
    parts.push(
      `simulator speed${s.shards > 1 ? ` over ${s.shards} shards (worker processes)` : ", one process"}: ${s.nodes} nodes (${s.boards.length} street boards in turn) for ${formatDuration(s.durationMs)} against the embedded broker in ${(s.wallMs / 1000).toFixed(1)} s wall${cpu}: ${num(s.nodeDaysPerSecond, 2)} node-days per wall second (${num(s.speedup)}x real time)${perCpu}; peak memory ${s.peakRssMb.map((m) => num(m) + " MB").join(" + ")}; ${num(s.readingsAtBroker)} readings at the broker, ${s.lost} lost, ${s.crashes} crashes`,
    );
    if (s.shards === 1) parts.push("  (on a busy machine the wall-clock figure drops with the load; the CPU-second one holds)");
  }
  if (r.speedByBoard?.length) {
    const c = r.speedByBoard[0];
    const cores = r.speedSharded?.shards ?? 1;
    parts.push("");
    parts.push(`CPU seconds a node-day, by board (${c.nodes} node${c.nodes === 1 ? "" : "s"} of one board for ${formatDuration(c.durationMs)}, one process, the broker's and the observer's share and the run's start included; 4 node-days a second on ${cores} core${cores > 1 ? "s" : ""} leaves ${num(cores / 4, 2)}: the goal of the fleet bench)`);
    parts.push(grid(["board", "CPU s / node-day", "readings at broker", "lost"], r.speedByBoard.map((b) => [b.board, num(b.cpuSecondsPerNodeDay, 2), num(b.readingsAtBroker), String(b.lost)]), ["l", "r", "r", "r"]));
  }
  if (r.city) {
    const c = r.city;
    const t = c.totals;
    parts.push("");
    parts.push(
      `a city (bench/city.ts): ${num(c.nodes)} nodes (every street board in turn) for ${formatDuration(c.durationMs)} over ${c.shards} shard${c.shards === 1 ? "" : "s"} against Mosquitto in ${(c.wallMs / 1000).toFixed(0)} s wall (shards ${c.shardWallMs.map((w) => (w / 1000).toFixed(0) + " s").join(", ")}); peak memory ${c.peakRssMb.map((m) => num(m) + " MB").join(" + ")}; ${num(c.messagesPerSecond)} data messages (${num(c.readingsPerSecond)} readings) a second through the broker`,
    );
    parts.push(
      `  books: ${num(t.readings)} readings = ${num(t.acked)} acked + ${num(t.queued)} queued + ${num(t.dropped)} dropped + ${num(t.untimed)} untimed, lost ${num(t.lost)}; at the broker ${num(t.receivedAtBroker)}, ${num(t.duplicatesAtBroker)} duplicates, ${num(t.badTimesAtBroker)} bad times; ${num(t.crashes)} crashes`,
    );
  }
  if (r.ota) {
    parts.push("");
    parts.push("over-the-air update (bench/ota.ts): per node, with a rollout minus without");
    parts.push(
      grid(
        ["board", "nodes", "bundle B", "chunks", "updated", "air B/node", "x bundle", "tx B", "rx B", "mAh/node", "median done", "fleet done"],
        r.ota.map((x) => [x.board + " (" + x.power + ")", num(x.nodes), num(x.bundleBytes), num(x.chunks), `${x.updated}/${x.nodes}`, num(x.extraBytesPerNode), num(x.airPerBundleByte, 2), num(x.extraTxBytesPerNode), num(x.extraRxBytesPerNode), num(x.extraMahPerNode, 3), x.medianDoneMs === null ? "-" : formatDuration(x.medianDoneMs), x.fleetDoneMs === null ? "not all" : formatDuration(x.fleetDoneMs)]),
        ["l"],
      ),
    );
  }
  if (r.mqtt) {
    parts.push("");
    parts.push(`MQTT client (firmware/mqtt/client.ts, the node's options) over the simulator's net emulation, QoS 1; ${num(r.mqtt.clientBytes)} B minified (with packet.ts, built alone as the bundles build it)`);
    parts.push(grid(["broker", "sending", "messages", "msg/s", "payload B", "tx B/msg"], r.mqtt.runs.map((m) => [m.broker, m.mode, num(m.messages), num(m.messagesPerSecond), num(m.payloadBytes), num(m.txBytesPerMessage, 1)]), ["l", "l"]));
  }
  if (r.assumptions.length) {
    parts.push("");
    parts.push("assumptions:");
    for (const a of r.assumptions) parts.push("  - " + a);
  }
  if (r.skipped.length) {
    parts.push("");
    parts.push("not measured:");
    for (const s of r.skipped) parts.push("  - " + s);
  }
  parts.push("");
  parts.push(`bench took ${(r.wallMs / 1000).toFixed(1)} s`);
  return parts.join("\n");
}

// ---------------------------------------------------------------------------------------------
// the command

interface BenchCliOptions {
  only?: string;
  quick?: boolean;
  board?: string[];
  out?: string;
  day?: string;
  speedNodes?: string;
  speedDuration?: string;
  cityNodes?: string;
  cityDuration?: string;
  mqttMessages?: string;
  mosquitto: boolean;
  real: boolean;
  seed: string;
  json?: boolean;
}

function refuse(message: string): never {
  console.error("casanode bench: " + message);
  throw new CommanderError(2, "commander.benchOption", message);
}

function whole(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) refuse(`${name} must be a whole number of at least ${min}, got "${text}"`);
  return Number(text);
}

function duration(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch (e) {
    if (e instanceof DurationError) refuse(`${name}: ${e.message}`);
    throw e;
  }
}

export function parseSections(text: string | undefined): Section[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = parts.filter((p) => !(SECTIONS as readonly string[]).includes(p));
  if (bad.length || !parts.length) throw new Error(`--only takes a comma list of ${SECTIONS.join(", ")}; got "${text}"`);
  return parts as Section[];
}

export function registerBench(program: Command): Command {
  return program
    .command("bench")
    .description("measure bundle size and memory, energy per cycle and battery life, bytes on the air, flash wear, simulator speed, MQTT throughput and (asked for by name) a city's hour against Mosquitto")
    .option("--only <sections>", `comma list of sections: ${SECTIONS.join(", ")} (default: all but city)`)
    .option("--quick", "shorter runs (3 h per board, 20 nodes for 3 h, 500 MQTT messages, real interpreter on linux only)")
    .option("--board <name>", "board profile (repeatable; default: all)", (v: string, prev: string[] | undefined) => (prev ?? []).concat([v]))
    .option("--out <file>", "write the results as JSON here (default: bench/results.json in the repository)")
    .option("--day <time>", "simulated time of the per-board run, e.g. 6h (default 1d)")
    .option("--speed-nodes <n>", "nodes in the simulator speed run (default 100)")
    .option("--speed-duration <time>", "simulated time of the speed run (default 1d)")
    .option("--city-nodes <n>", "nodes in the city run (default 10000; --quick 1000)")
    .option("--city-duration <time>", "simulated time of the city run (default 1h)")
    .option("--mqtt-messages <n>", "messages per MQTT throughput run (default 5000)")
    .option("--no-mosquitto", "leave Mosquitto out even when installed")
    .option("--no-real", "leave out the real interpreter (ESPRUINO_BIN, or an espruino binary on PATH)")
    .option("--seed <n>", "random seed of the simulated runs", "1")
    .option("--json", "print the results as JSON instead of tables")
    .addHelpText("after", "\nExamples:\n  casanode bench\n  casanode bench --quick\n  casanode bench --only bundle,memory --board linux\n  casanode bench --only city\n  ESPRUINO_BIN=/path/to/espruino casanode bench --only memory\n")
    .action(async (raw: BenchCliOptions) => {
      const boards = raw.board;
      if (boards?.length) {
        const known = boardNames();
        const unknown = boards.filter((b) => !known.includes(b));
        if (unknown.length) refuse(`unknown board ${unknown.join(", ")}; boards: ${known.join(", ")}`);
      }
      let only: Section[] | undefined;
      try {
        only = parseSections(raw.only);
      } catch (e) {
        refuse((e as Error).message);
      }
      const r = await runBench({
        only,
        quick: raw.quick,
        boards,
        dayMs: duration("--day", raw.day),
        speedNodes: whole("--speed-nodes", raw.speedNodes, 1),
        speedMs: duration("--speed-duration", raw.speedDuration),
        cityNodes: whole("--city-nodes", raw.cityNodes, 1),
        cityMs: duration("--city-duration", raw.cityDuration),
        mqttMessages: whole("--mqtt-messages", raw.mqttMessages, 1),
        mosquitto: raw.mosquitto,
        real: raw.real,
        seed: whole("--seed", raw.seed, 0),
        log: (line) => console.error(line),
      });
      console.log(raw.json ? JSON.stringify(r, null, 2) : formatBench(r));
      {
        const file = raw.out ? path.resolve(raw.out) : path.join(ROOT, "bench", "results.json");
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(r, null, 2) + "\n");
        if (!raw.json) console.log(`results: ${path.relative(process.cwd(), file) || file}`);
      }
    });
}
