// `casanode sim`: run a simulated fleet for a simulated time and print what happened.
// Defaults: a small mixed fleet of every street board for one simulated day against an
// embedded broker. Bad options: one line on stderr, exit code 2.

import { Command, CommanderError } from "commander";
import { writeFileSync, mkdirSync, readFileSync, statSync, accessSync, constants as fsConstants } from "node:fs";
import path from "node:path";
import { DurationError, formatDuration, parseDuration } from "../sim/duration.js";
import { FaultSpecError, type FaultSpec } from "../sim/faults.js";
import { formatLife } from "../sim/energy.js";
import { parseReplaySpec, describeRejected, type ReplaySpec } from "../sim/replay.js";
import os from "node:os";
import { SimOptionError, checkRunOptions, parseShardSpec, defaultShards, MAX_SHARDS, MIN_NODE_DAYS_TO_SHARD, type ShardSpec } from "../sim/options.js";
import { DEFAULT_NET_LATENCY, parseRtt, type NetLatency } from "../sim/espruino/net.js";
import type { FleetProgress } from "../sim/fleet-loop.js";
import type { FleetSummary, FleetTraces } from "../sim/fleet-summary.js";
import { parseOtaOption, formatOtaSummary, type FleetOta } from "../sim/ota-fleet.js";
import { defaultFleetBoards } from "../toolchain/boards.mjs";

interface SimCliOptions {
  board?: string[];
  nodes?: string;
  duration: string;
  seed?: string;
  rtt?: string;
  tlsHandshake?: string;
  broker?: string;
  realtime?: boolean;
  fault?: string[];
  powerCuts?: string;
  rtcFast?: string;
  replay?: string[];
  replayRaw?: string[];
  consolePort?: string;
  summary?: string;
  report?: string;
  config?: string;
  storageKb?: string;
  ota?: string;
  otaBoard?: string;
  otaFw?: string;
  shard?: string;
  shards?: string;
}

const collect = (value: string, previous: string[] | undefined) => (previous ?? []).concat([value]);

/** a refused option: print one line, and let main() return 2 without printing again */
function refuse(message: string): never {
  console.error("casanode sim: " + message);
  throw new CommanderError(2, "commander.simOption", message);
}

/** a whole number option's text (its range is checked with the others in sim/options.ts) */
function wholeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) refuse(`${name} must be a whole number, got "${text}"`);
  return Number(text);
}

/** a percent as typed: "2", "3.3" or "3.3%" */
function percent(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) refuse(`${name} must be a percent, e.g. 1 or 3.3, got "${text}"`);
  return Number(m![1]);
}

/** every option checked before anything starts: the text here, the values by checkRunOptions (as runFleet does) */
export function checkSimOptions(o: SimCliOptions): {
  boards: string[]; nodes?: number; durationMs: number; seed: number; broker?: string; realtime: boolean; netLatency: NetLatency;
  faults: FaultSpec[]; powerCuts?: number; rtcFastPct?: number; replay: ReplaySpec[]; consolePort?: number; summary?: string; report?: string;
  config?: { [field: string]: unknown }; storageBytes?: number; ota?: FleetOta; shard?: ShardSpec; shards?: number;
} {
  let durationMs = 0;
  // a bare 0 would get "no unit (use e.g. 0m)", which is refused next
  const bare = String(o.duration).trim();
  if (bare !== "" && Number(bare) === 0) refuse("--duration must be more than 0, e.g. 90m, 6h, 2d");
  try {
    durationMs = parseDuration(o.duration);
  } catch (err) {
    if (err instanceof DurationError) refuse("--duration: " + err.message);
    throw err;
  }
  let seed = 1;
  if (o.seed !== undefined) {
    if (!/^-?\d+$/.test(o.seed.trim())) refuse(`--seed must be an integer, got "${o.seed}"`);
    seed = Number(o.seed);
  }
  const netLatency = { ...DEFAULT_NET_LATENCY };
  if (o.rtt !== undefined) {
    const r = parseRtt(o.rtt);
    if (!r) refuse(`--rtt must be ms per round trip, e.g. 40 or 20-60 (at most 10000), got "${o.rtt}"`);
    [netLatency.rttMinMs, netLatency.rttMaxMs] = r;
  }
  const hs = wholeNumber("--tls-handshake", o.tlsHandshake);
  if (hs !== undefined) netLatency.tlsHandshakeMs = hs;
  const replay: ReplaySpec[] = [];
  for (const [list, raw] of [[o.replay, false], [o.replayRaw, true]] as const) {
    for (const r of list ?? []) {
      try {
        replay.push(parseReplaySpec(r, raw));
      } catch (err) {
        if (err instanceof SimOptionError) refuse(err.message);
        throw err;
      }
    }
  }
  checkOutputFile("--summary", o.summary);
  checkOutputFile("--report", o.report);
  if (o.summary && o.report && path.resolve(o.summary) === path.resolve(o.report)) refuse(`--summary and --report both name ${o.summary}`);
  let config: { [field: string]: unknown } | undefined;
  if (o.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(o.config, "utf8");
    } catch (err) {
      refuse(`--config: cannot read ${o.config}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      config = JSON.parse(text);
    } catch (err) {
      refuse(`--config: ${o.config} is not JSON: ${(err as Error).message}`);
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) refuse(`--config: ${o.config} must hold a JSON object of config fields`);
  }
  const kb = wholeNumber("--storage-kb", o.storageKb);
  let shard: ShardSpec | undefined;
  if (o.shard !== undefined) {
    try {
      shard = parseShardSpec(o.shard);
    } catch (err) {
      if (err instanceof SimOptionError) refuse(err.message);
      throw err;
    }
  }
  const shards = wholeNumber("--shards", o.shards);
  if (shards !== undefined && !(shards >= 1 && shards <= MAX_SHARDS)) refuse(`--shards must be from 1 to ${MAX_SHARDS}, got ${shards}`);
  if (shard && shards !== undefined) refuse("--shard runs one shard here, --shards runs them all here: give one of them");
  const values = {
    boards: o.board ?? [],
    nodes: wholeNumber("--nodes", o.nodes),
    durationMs,
    seed,
    broker: o.broker,
    netLatency,
    powerCuts: wholeNumber("--power-cuts", o.powerCuts),
    rtcFastPct: percent("--rtc-fast", o.rtcFast),
    consolePort: wholeNumber("--console-port", o.consolePort),
    config,
    storageBytes: kb === undefined ? undefined : kb * 1024,
    shard,
  };
  let faults: FaultSpec[] = [];
  try {
    faults = checkRunOptions({ ...values, faults: o.fault ?? [] }).faults;
  } catch (err) {
    if (err instanceof SimOptionError || err instanceof FaultSpecError) refuse(err.message);
    throw err;
  }
  let ota: FleetOta | undefined;
  if (o.ota !== undefined) {
    // the rollout is published and tallied by the run's one process
    if (shard || (shards !== undefined && shards > 1)) refuse("--ota runs in one process: leave out --shard and --shards (or give --shards 1)");
    try {
      ota = parseOtaOption(o.ota, { board: o.otaBoard, fw: o.otaFw, boards: values.boards.length ? values.boards : defaultFleetBoards(), durationMs });
    } catch (err) {
      if (err instanceof SimOptionError) refuse(err.message);
      throw err;
    }
  } else if (o.otaBoard !== undefined || o.otaFw !== undefined) refuse("--ota-board and --ota-fw go with --ota <bundle>@<time>");
  return { ...values, shards: ota ? 1 : shards, realtime: !!o.realtime, faults, replay, summary: o.summary, report: o.report, ota };
}

/** refuse an output file that cannot be written, before the run rather than after it */
function checkOutputFile(opt: string, file: string | undefined): void {
  if (file === undefined) return;
  if (!file.trim()) refuse(`${opt}: empty file name`);
  const abs = path.resolve(file);
  const st = statOrNull(abs);
  if (st?.isDirectory()) refuse(`${opt}: ${file} is a directory; name a file in it, e.g. ${path.join(file, opt === "--report" ? "run.html" : "run.json")}`);
  let dir = st ? abs : path.dirname(abs);
  if (!st) while (!statOrNull(dir)) dir = path.dirname(dir); // created at the end (mkdir -p)
  if (!st && !statOrNull(dir)!.isDirectory()) refuse(`${opt}: cannot create ${file}: ${dir} is not a directory`);
  try {
    accessSync(dir, fsConstants.W_OK);
  } catch {
    refuse(`${opt}: cannot write ${st ? file : "in " + dir} (permission denied)`);
  }
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function pad(s: string | number, n: number, left = false): string {
  const t = String(s);
  return left ? t.padEnd(n) : t.padStart(n);
}

function num(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "-";
}

/** the table printed at the end of a run */
export function formatSummary(s: FleetSummary): string {
  const t = s.totals;
  // [heading, least width, a node's figure, the fleet's]: a column widens to its longest figure
  const cols: Array<[string, number, (n: FleetSummary["nodes"][number]) => string, string]> = [
    ["readings", 9, (n) => String(n.readings), String(t.readings)],
    ["acked", 7, (n) => String(n.acked), String(t.acked)],
    ["queued", 7, (n) => String(n.queued), String(t.queued)],
    ["dropped", 8, (n) => String(n.dropped), String(t.dropped)],
    ["untimed", 8, (n) => String(n.untimed), String(t.untimed)],
    ["lost", 5, (n) => String(n.lost), String(t.lost)],
    ["at broker", 10, (n) => String(n.receivedAtBroker), String(t.receivedAtBroker)],
    ["bad time", 9, (n) => String(n.badTimesAtBroker), String(t.badTimesAtBroker)],
    ["wakes", 6, (n) => String(n.wakes), String(t.wakes)],
    ["awake h", 9, (n) => num(n.awakeMs / 3_600_000, 2), num(t.awakeMs / 3_600_000, 1)],
    ["mAh/day", 9, (n) => num(n.mahPerDay), num(t.mahPerDay)],
    ["battery", 8, (n) => formatLife(n.batteryLifeDays ?? undefined), ""],
  ];
  const cells = s.nodes.map((n) => cols.map(([, , f]) => f(n)));
  const widths = cols.map(([h, least, , total], i) => Math.max(least, h.length + 1, total.length + 1, ...cells.map((row) => row[i].length + 1)));
  const totalLabel = `${t.nodes} node${t.nodes === 1 ? "" : "s"}`;
  const idW = Math.max(6, totalLabel.length, ...s.nodes.map((n) => n.id.length));
  const boardW = Math.max(5, ...s.nodes.map((n) => n.board.length));
  const lines: string[] = [];
  lines.push(`${pad("node", idW, true)}  ${pad("board", boardW, true)}` + cols.map(([h], i) => pad(h, widths[i])).join(""));
  for (const [k, n] of s.nodes.entries()) {
    let line = `${pad(n.id, idW, true)}  ${pad(n.board, boardW, true)}` + cells[k].map((c, i) => pad(c, widths[i])).join("");
    if (n.crashes) line += `  ${n.crashes} crash(es)${n.lastError ? ": " + n.lastError : ""}`;
    if (n.safeMode) line += `  safe mode: ${n.safeMode}`;
    lines.push(line);
  }
  lines.push("-".repeat(lines[0].length));
  lines.push(`${pad(totalLabel, idW, true)}  ${pad("", boardW, true)}` + cols.map(([, , , total], i) => pad(total, widths[i])).join("").trimEnd());
  lines.push("");
  lines.push(
    `${formatDuration(s.durationMs)} simulated in ${(s.wallMs / 1000).toFixed(1)} s (${num(s.nodeDaysPerSecond, 2)} node-days/s), seed ${s.seed}, broker ${s.broker}` +
      (s.stoppedEarly ? ", stopped early" : ""),
  );
  const perWallSecond = (n: number) => num(n / Math.max(0.001, s.wallMs / 1000), 0);
  lines.push(`through the broker: ${t.messagesAtBroker} data messages, ${t.receivedAtBroker} readings (${perWallSecond(t.messagesAtBroker)} and ${perWallSecond(t.receivedAtBroker)} a wall second)`);
  if (s.shard) lines.push(`shard ${s.shard.index}/${s.shard.count} of a fleet of ${s.fleet.nodes} nodes: merge the shards' summaries with casanode sim merge`);
  if (s.shards) {
    lines.push(`${s.shards.length} shard(s): ` + s.shards.map((x) => `${x.shard.index}/${x.shard.count} ${x.nodes} nodes ${(x.wallMs / 1000).toFixed(1)} s ${x.peakRssMb} MB`).join("; "));
  }
  if (s.faults.length) lines.push(`${s.faults.length} fault(s) applied`);
  for (const n of s.nodes) {
    for (const r of n.replays ?? []) {
      lines.push(
        `replay ${n.id}/${r.device} (${r.model}) ${r.file}: ${r.units} frame(s) in the capture, ${r.frames} good; ` +
          `${r.consumed} handed out, ${r.decoded} decoded, ${describeRejected(r)}${r.wrapped ? "; the capture wrapped" : ""}`,
      );
      if (r.fault) lines.push(`FAULT ${n.id}/${r.device}: replay decoded nothing: ${r.fault}`);
    }
  }
  lines.push(t.lost === 0 ? "every reading is accounted for (lost = 0)" : `LOST ${t.lost} reading(s): taken but neither acknowledged, queued, dropped nor untimed`);
  if (t.untimed) lines.push(`${t.untimed} reading(s) untimed: taken in a clock run that ended (power cut) before the clock was set, never sent`);
  const bad = s.nodes.filter((n) => n.badTimesAtBroker > 0);
  if (bad.length) lines.push(`BAD TIMES at the broker: ${bad.map((n) => `${n.id} ${n.badTimesAtBroker}`).join(", ")} reading(s) stamped outside the run`);
  if (t.duplicatesAtBroker) lines.push(`${t.duplicatesAtBroker} reading(s) reached the broker more than once`);
  if (s.ota) lines.push(...formatOtaSummary(s.ota));
  return lines.join("\n");
}

/** the run's verdict: exit 1 (naming the nodes) if a reading was lost, reached the broker with an impossible time, or a replay decoded nothing */
export function checkRun(s: FleetSummary): void {
  const why: string[] = [];
  const lost = s.nodes.filter((n) => n.lost > 0);
  const bad = s.nodes.filter((n) => n.badTimesAtBroker > 0);
  if (lost.length) why.push(`${s.totals.lost} reading(s) lost (${lost.map((n) => n.id).join(", ")})`);
  if (bad.length) why.push(`${s.totals.badTimesAtBroker} reading(s) with a bad time at the broker (${bad.map((n) => n.id).join(", ")})`);
  const replayFaults = s.nodes.flatMap((n) => (n.replays ?? []).filter((r) => r.fault).map((r) => `${n.id}/${r.device}`));
  if (replayFaults.length) why.push(`${replayFaults.length} replay(s) decoded nothing (${replayFaults.join(", ")})`);
  if (why.length) throw new CommanderError(1, "casanode.sim", why.join("; "));
}

type Reporter = { update(p: FleetProgress): void; stop(): void };

async function progressReporter(): Promise<Reporter> {
  if (process.stdout.isTTY) {
    const { default: cliProgress } = await import("cli-progress");
    const bar = new cliProgress.SingleBar(
      { format: "sim [{bar}] {percentage}% | {done} of {total_time} simulated | {received} readings at the broker | {elapsed}s", hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const payload = { done: formatDuration(Math.round(p.doneMs / 60_000) * 60_000), total_time: formatDuration(p.durationMs), received: p.receivedAtBroker, elapsed: (p.wallMs / 1000).toFixed(0) };
        if (!started) {
          bar.start(p.durationMs, 0, payload);
          started = true;
        }
        bar.update(p.doneMs, payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  // not a terminal (CI, pipes): a plain line every 10 %
  let lastDecile = -1;
  return {
    update(p) {
      const decile = Math.floor((p.doneMs / p.durationMs) * 10);
      if (decile === lastDecile) return;
      lastDecile = decile;
      console.log(`sim: ${decile * 10}% (${formatDuration(Math.round(p.doneMs / 1000) * 1000)} of ${formatDuration(p.durationMs)}) ${p.receivedAtBroker} readings at the broker, ${(p.wallMs / 1000).toFixed(1)} s`);
    },
    stop() {},
  };
}

export function registerSim(program: Command): Command {
  return program
    .command("sim")
    .enablePositionalOptions() // `sim merge --summary f` is merge's --summary, not sim's
    .description("run a simulated fleet (the flashed bundles) on a virtual clock against an MQTT broker, then print a summary")
    .option("--board <name>", "board profile to simulate (repeatable; default: every street board in boards/profiles)", collect)
    .option("--nodes <n>", "number of nodes, spread over the boards (default: 6, or one per --board)")
    .option("--duration <time>", "simulated time, e.g. 90m, 6h, 2d", "1d")
    .option("--seed <n>", "random seed: the same seed and options give the same run", "1")
    .option("--rtt <ms>", `network round trip as the node sees it, ms or min-max (default ${DEFAULT_NET_LATENCY.rttMinMs}-${DEFAULT_NET_LATENCY.rttMaxMs}; 0 for none)`)
    .option("--tls-handshake <ms>", `a TLS connect's handshake on top of TCP, ms (default ${DEFAULT_NET_LATENCY.tlsHandshakeMs}; only builds with a tls module)`)
    .option("--broker <url>", "external broker mqtt://host:port (default: an embedded broker)")
    .option("--realtime", "pace virtual time to the wall clock (for watching consoles)")
    .option("--fault <spec>", "inject a fault: <kind>[:<target>]@<start>[+<length>], kinds wifi-down, broker-down, power-cut, unplug, garbage, stuck, bad-checksum (repeatable)", collect)
    .option("--power-cuts <n>", "n power cuts at random instants on random nodes")
    .option("--rtc-fast <percent>", "every ESP32's RTC runs this much fast in deep sleep, e.g. 1 or 3.3 (a real one: 1-3.3 %; default 0, exact): the nodes' clocks run ahead between SNTP syncs")
    .option("--replay <device=file>", "play a captured serial log (hex text, xxd or hexdump -C output) into a UART sensor: <device|model>=<file> or <node|board>/<device>=<file> (repeatable)", collect)
    .option("--replay-raw <device=file>", "as --replay, for a file of the raw bytes as captured (repeatable)", collect)
    .option("--console-port <port>", "serve node i's console on TCP port <port>+i")
    .option("--summary <file.json>", "write the summary as JSON")
    .option("--report <file.html>", "write an HTML report with plots")
    .option("--config <file.json>", "config fields for every node over the simulator's own, e.g. {\"queueMax\": 8000} (checked by the node's validator)")
    .option("--storage-kb <n>", "Storage (flash) of every node in KB (default: the board's, 896 on ESP32)")
    .option("--ota <bundle@time>", "publish an over-the-air update at <time> as casanode ota does, e.g. dist/esp32-bin.js@2h; the summary gives each node's version at the end (runs in one process)")
    .option("--ota-board <name>", "the board the --ota bundle is for (default: its file name, or the run's only board)")
    .option("--ota-fw <version>", "the version the --ota bundle reports (default: the one x.y.z in it)")
    .option("--shards <n>", `run the fleet over n worker processes, all against one broker (default: one per core, 1 below ${MIN_NODE_DAYS_TO_SHARD} node-days)`)
    .option("--shard <i/N>", "run only shard i of N (counted from 1): a contiguous block of the fleet's nodes, each as in the whole fleet; give every shard the same options and --broker, then casanode sim merge their --summary files")
    .addHelpText("after", "\nExamples:\n  casanode sim\n  casanode sim --board esp32-air --nodes 20 --duration 2d --report run.html\n  casanode sim --fault wifi-down@2h+30m --fault unplug:pm@6h+1h --power-cuts 5\n  casanode sim --board esp32-air --duration 6h --replay pm=sds011-capture.hex\n  casanode sim --board esp32-bin --nodes 4 --duration 8h --ota new-bin.js@2h --ota-fw 0.2.0\n  casanode sim --nodes 100 --shards 2\n  casanode sim --nodes 10000 --duration 1h --broker mqtt://broker:1883 --shard 3/8 --summary s3.json\n  casanode sim merge s1.json s2.json ... s8.json --summary fleet.json\n")
    .action(async (raw: SimCliOptions) => {
      const o = checkSimOptions(raw);
      const { runFleet, DEFAULT_NODES } = await import("../sim/fleet.js");
      const { runShardedFleet } = await import("../sim/fleet-shards.js");
      const fleetSize = o.nodes ?? (o.boards.length ? o.boards.length : DEFAULT_NODES);
      const shards = o.shard ? 1 : (o.shards ?? defaultShards(fleetSize, o.durationMs, os.availableParallelism()));
      const reporter = await progressReporter();
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once("SIGINT", onSigint);
      let result;
      try {
        const options = {
          boards: o.boards,
          nodes: o.nodes,
          durationMs: o.durationMs,
          seed: o.seed,
          broker: o.broker,
          realtime: o.realtime,
          netLatency: o.netLatency,
          faults: o.faults,
          powerCuts: o.powerCuts,
          rtcFastPct: o.rtcFastPct,
          replay: o.replay,
          consolePort: o.consolePort,
          config: o.config,
          storageBytes: o.storageBytes,
          ota: o.ota,
          // only the report plots every reading; without it the observer streams its counts
          keepReadings: !!o.report,
          onProgress: (p: FleetProgress) => reporter.update(p),
          log: o.realtime || o.consolePort !== undefined ? (line: string) => console.log(line) : undefined,
          signal: abort.signal,
        };
        result = shards > 1 ? await runShardedFleet(options, shards) : await runFleet({ ...options, shard: o.shard });
      } catch (err) {
        reporter.stop();
        // by name: a test runner may hold two copies of these classes (ESM and CJS)
        const name = (err as Error)?.name;
        if (name === "SimOptionError" || name === "FaultSpecError") refuse((err as Error).message);
        throw err;
      } finally {
        process.removeListener("SIGINT", onSigint);
      }
      reporter.stop();
      console.log("");
      console.log(formatSummary(result.summary));
      await writeOutputs(result.summary, result.traces, o.summary, o.report);
      checkRun(result.summary);
    })
    .addCommand(mergeCommand());
}

async function writeOutputs(summary: FleetSummary, traces: FleetTraces, summaryFile: string | undefined, reportFile: string | undefined): Promise<void> {
  if (summaryFile) {
    mkdirSync(path.dirname(path.resolve(summaryFile)), { recursive: true });
    writeFileSync(summaryFile, JSON.stringify(summary, null, 2) + "\n");
    console.log(`summary: ${summaryFile}`);
  }
  if (reportFile) {
    const { writeReport } = await import("../sim/report.js");
    console.log(`report: ${writeReport(summary, traces, reportFile)}`);
  }
}

/** `casanode sim merge a.json b.json ...`: the shards' summaries as one fleet's; refuses (exit 2, a line per problem) what does not join */
function mergeCommand(): Command {
  return new Command("merge")
    .description("join the --summary files of a fleet's shards (casanode sim --shard i/N) into the whole fleet's summary, and check its books")
    .argument("<summaries...>", "the shards' summary files, one per shard")
    .option("--summary <file.json>", "write the merged summary as JSON")
    .option("--report <file.html>", "write an HTML report of the merged summary (totals and nodes; the plots need a run's readings)")
    .action(async (files: string[], opts: { summary?: string; report?: string }) => {
      const refuseAll = (problems: string[]): never => {
        for (const p of problems) console.error("casanode sim merge: " + p);
        throw new CommanderError(2, "commander.simOption", problems.join("; "));
      };
      checkOutputFile("--summary", opts.summary);
      checkOutputFile("--report", opts.report);
      const { readSummaryFile, mergeSummaries, MergeError } = await import("../sim/fleet-merge.js");
      const parts = [];
      const problems: string[] = [];
      for (const f of files) {
        try {
          parts.push(readSummaryFile(f));
        } catch (err) {
          if (err instanceof MergeError) problems.push(...err.problems);
          else throw err;
        }
      }
      if (problems.length) refuseAll(problems);
      let merged: FleetSummary;
      try {
        merged = mergeSummaries(parts);
      } catch (err) {
        if (err instanceof MergeError) refuseAll(err.problems);
        throw err;
      }
      console.log(formatSummary(merged!));
      await writeOutputs(merged!, { startMs: merged!.startMs, endMs: merged!.endMs, nodes: [] }, opts.summary, opts.report);
      checkRun(merged!);
    });
}
