// What the runtime modules share: the Runtime of one boot, and the node's persisted state
// (NodeState: what survives a deep sleep or a power cut, written by store.ts). Types only, so
// every runtime module imports its types from here and none needs another just for a type.
// Firmware code: ES5, Espruino subset.

import type { Platform, WakeCause } from "../platform.js";
import type { BoardProfile } from "../board.js";
import type { NodeConfig } from "../config.js";
import type { Sensor, Actuator, SensorResult } from "../../drivers/types.js";
import type { StreetlightState, StreetlightStatus, TickResult } from "../streetlight/controller.js";
import type { Store } from "./store.js";
import type { EnergyLedger } from "./energy.js";
import type { Uplink } from "../uplink/link.js";
import type { OtaRun } from "../ota/run.js";

// ---- persisted (plain JSON) ----

/** One queued value: [name, unit, value, time in s since the epoch (or since the RTC started: store.ts)]. */
export type Entry = [string, string, number, number];

/** How a quantity aggregates (aggregate.ts): m = linear, e = energetic (dB), x = max only, i = min only */
export type Kind = "m" | "e" | "x" | "i";

/** One quantity in a window. s = sum (linear) or energy sum 10^(L/10) (kind e). */
export interface QStat {
  k: Kind;
  u: string;
  n: number;
  s: number;
  lo: number;
  hi: number;
  /** histogram, kind e only: bin index -> count */
  h?: { [bin: string]: number };
}

/** An aggregation window (aggregate.ts) */
export interface Window {
  /** start, ms */
  t: number;
  q: { [name: string]: QStat };
}

/** Lden day accumulator (aggregate.ts): local day number, energy sums and counts for day/evening/night. */
export interface DayAcc {
  d: number;
  e: number[];
  n: number[];
}

/** Levels taken before the clock was set: [hour of RTC run time, energy sum, count], and whose they are. */
export interface PendingLevels {
  p: string;
  h: Array<[number, number, number]>;
}

/** The config fields commands changed (config.ts patchConfig), over casanode.json */
export interface ConfigPatch {
  [field: string]: unknown;
}

export interface Counters {
  /** values queued for upload since first boot (samples and window summaries) */
  readings: number;
  /** values sent in data messages (a resend counts again) */
  published: number;
  /** values the broker acknowledged (PUBACK): they left the queue */
  acked: number;
  /** values dropped from the full queue, oldest first */
  dropped: number;
  /** values taken in an RTC run that ended before the clock was set: no time, never sent */
  untimed: number;
  /** committed queue files that later failed to read (flash corruption): values unknown */
  lostFiles: number;
  /** deep-sleep wakes (including chained ones) */
  wakes: number;
  /** boots that were not deep-sleep wakes (power-on, watchdog, reset) */
  boots: number;
  /** completed sampling cycles */
  cycles: number;
  /** connections that flushed the queue / that failed */
  uploads: number;
  uploadFails: number;
  /** commands accepted / refused */
  cmds: number;
  cmdErrors: number;
  /** of those refused, cmd messages over the inbound limit, dropped unread (absent in older states) */
  cmdTooLarge?: number;
  /** bytes this store wrote to flash (data + per-file header estimate) */
  bytes: number;
}

/** Everything that must survive a deep sleep or a power cut. Plain JSON. */
export interface NodeState {
  /** format version */
  v: number;
  /** slot write sequence */
  sq: number;
  /** first save with the clock set, ms: the base of bytes/day (0 until then) */
  born: number;
  c: Counters;
  /** queue files: next seq to write; all seq <= done have left the queue */
  q: { next: number; done: number };
  /** RTC runs with readings stamped before the clock was set: [first queue seq, clock offset ms]
   *  (offset RUN_LIVE: the current run, time not known yet; RUN_LOST: it ended without) */
  runs: Array<[number, number]>;
  /** start of the next sampling slot on the period grid, ms (0: none yet) */
  next: number;
  /** start of the last aggregation window closed, ms: a late sample never reopens it */
  winDone: number;
  /** the aggregation window being filled */
  win: Window | null;
  /** Lden day accumulator */
  day: DayAcc | null;
  /** noise levels per hour of RTC run time, waiting for the clock (aggregate.ts foldPending) */
  dp: PendingLevels | null;
  /** highest command counter accepted: lower or equal ones are replays */
  ctr: number;
  /** recent boots [ms, cause], newest last */
  boots: Array<[number, string]>;
  /** boots in a row that did not get their work done (safemode.ts) */
  crashRun: number;
  /** why the node is in safe mode, or "" */
  safe: string;
  /** ms in each power state (energy.ts) */
  en: { [state: string]: number };
  /** config changes from commands: { base: checksum of casanode.json they apply to, set: fields } */
  cfg: { base: string; set: ConfigPatch } | null;
  /** the sum (node.ts configKey) of the last config that passed the check: the same one is not checked again */
  cfgOk?: string;
  /** alarms raised and not cleared yet, "<device>:<alarm>" */
  alarms: string[];
  /** manual override of the relay on boards without a streetlight controller: { on, until ms (0 = none) } */
  relay: { on: boolean; until: number } | null;
  /** the streetlight controller's state (getState()) */
  lamp: StreetlightState | null;
  /** last upload attempt, ms, and its outcome */
  lastUp: number;
  lastUpOk: boolean;
  /** consecutive failed uploads (retry backoff) */
  upFails: number;
  /** per device, the bin fill the last successful upload carried (significant-change base) */
  sent?: { [dev: string]: number };
  /** how long the last sampling took, ms: when a planned upload starts its join (cycle.ts) */
  sampleMs?: number;
  /** static address: when it last failed, when DHCP last worked (ms) */
  ipFail?: number;
  dhcpAt?: number;
  /** the RTC's rate in deep sleep (0.01: 1 % fast) and the last SNTP answer, ms (runtime/rtc-rate.ts) */
  rr?: number;
  syncAt?: number;
  /** what the answers since syncAt took off the clock, and en.sleep then, ms (uplink/clock-sync.ts learnRate) */
  syncOff?: number;
  syncSlept?: number;
  /** when the last SNTP ask went unanswered, ms (0: answered); when a wake last connected to measure the rate */
  ntpFail?: number;
  rateAsk?: number;
  /** chained deep sleeps planned before the next due wake (counted as wakes then) */
  chain: number;
  /** the Bluetooth setting last asked of the chip (ESP32.enableBLE): asked once per change */
  ble?: boolean;
  /** per device: reads ok, reads failed, last fault ("timeout: no frame in 3000 ms") */
  dev: { [name: string]: { ok: number; bad: number; last: string } };
  /** when the last state save was, ms (sleep accounting) */
  savedAt: number;
  /** the last ota-state report the broker acknowledged (firmware/ota/run.ts publishes only a changed one) */
  otaSent?: string;
  /** the OTA code found nothing to do and its report acknowledged: boots need not load it (firmware/ota/lazy.ts) */
  otaIdle?: boolean;
}

// ---- one boot ----

/**
 * The streetlight controller (firmware/streetlight/controller.ts) as the runtime drives it
 * (firmware/streetlight/hook.ts): tick() every minute, every relay read through noteRead(),
 * commands, state kept in the store.
 */
export interface LampControl {
  tick(nowMs?: number): TickResult;
  command(mode: unknown, expiresS?: unknown): string | null;
  noteRead(res: SensorResult): boolean;
  status(): StreetlightStatus;
  getState(): StreetlightState;
  /** a stored state (checked: it is JSON from flash); null if taken, else why not */
  restore(state: unknown): string | null;
}

/**
 * The day levels (Lden) in the duty cycle (firmware/runtime/lden.ts ldenHooks), boards with a
 * sound level meter only: an LAeq reading folded into its day (the day's entries when one
 * closed), and the levels a run kept before it knew the time placed once it does.
 */
export interface LdenHooks {
  fold(st: NodeState, t: number, level: number, prefix: string, tzOffsetMin: number): Entry[];
  place(st: NodeState, offMs: number, tzOffsetMin: number): Entry[];
}

/**
 * Sleeping through part of a latched sensor's warm-up (firmware/runtime/warm-asleep.ts
 * warmAsleepHooks), boards with one only: at each deep sleep the latch is switched off and,
 * when the sleep leads to a cycle (not in safe mode), the warm-up wake planned; the time to sleep until.
 */
export interface WarmAsleepHooks {
  /** sampler: the scheduler's (runtime/sampling.ts), which switches and books a device */
  sleepUntil(rt: Runtime, target: number, sampler: { power(s: Sensor, on: boolean): void }): number;
}

/**
 * The relay's part in the duty cycle (firmware/streetlight/hook.ts relayHooks): the stored lamp
 * or override applied after configure(), each cycle's tick or expiry, every relay read.
 */
export interface RelayHooks {
  start(rt: Runtime): void;
  cycle(rt: Runtime, started: boolean): void;
  read(rt: Runtime, dev: string, r: SensorResult): void;
}

/**
 * Everything the runtime modules share for one boot. Readonly: fixed once node.ts has booted;
 * the others say which module changes them.
 */
export interface Runtime {
  readonly fw: string;
  readonly platform: Platform;
  readonly board: BoardProfile;
  /** the config in use: a config command (commands.ts) replaces it */
  config: NodeConfig;
  readonly store: Store;
  readonly energy: EnergyLedger;
  /** the fitted sensors: those whose configure() failed leave it (cycle.ts) */
  sensors: Sensor[];
  readonly actuators: Actuator[];
  /** every driver the board built, configured or not: diag shows an absent one's wiring too */
  readonly drivers: Sensor[];
  /** the streetlight controller, pole boards only (node.ts at boot) */
  lamp: LampControl | null;
  /** the relay's part in the cycle, boards with a relay only (node.ts NodeOptions.relay) */
  readonly relay: RelayHooks | null;
  /** the day levels, boards with a sound level meter only (node.ts NodeOptions.lden) */
  readonly lden: LdenHooks | null;
  /** sleeping through a latched sensor's warm-up, boards with one only (node.ts NodeOptions.warmAsleep) */
  readonly warmAsleep: WarmAsleepHooks | null;
  readonly bootCause: WakeCause;
  /** boot time, ms: moved with the clock when SNTP sets it (cycle.ts) */
  bootAt: number;
  /** when the chip woke (from the wake prelude's time; bootAt where there is none), ms */
  readonly wokeAt: number;
  /** why the node is in safe mode, "" if it is not (node.ts at boot) */
  safe: string;
  /** why casanode.json was refused (the node then runs on the console only) */
  readonly configErrors: string[];
  /** stays awake and connected (mains power, or a chip without deep sleep) */
  readonly mains: boolean;
  /** the provisioned config file as parsed (any JSON, not yet validated), and its checksum (config commands apply over it) */
  readonly fileRaw: unknown;
  readonly fileSum: string;
  /** last result per device this boot (cycle.ts) */
  readonly last: { [device: string]: SensorResult };
  /** the link while one is open (cycle.ts) */
  uplink: Uplink | null;
  /** end of the last completed cycle, ms (watchdog health; cycle.ts) */
  lastCycleAt: number;
  /** a "reboot" command was accepted, or an update switched bundles: reboot instead of sleeping (commands.ts, ota/run.ts) */
  rebootWanted: boolean;
  /** where an over-the-air update stands (ota/run.ts; null on a platform without E.CRC32 or with a refused config) */
  ota: OtaRun | null;
  /** the console line out (node.ts wraps it in the console lock) */
  log(line: string): void;
}
