// Per-board figures from an instrumented day (bench/day.ts): energy per cycle and per day,
// battery life, bytes on the air per reading, flash written per day and flash life.

import type { NodeSummary } from "../sim/fleet.js";
import { USABLE_FRACTION } from "../sim/energy.js";
import { flashLifeYears, FLASH_ENDURANCE_CYCLES } from "../firmware/runtime/diag-figures.js";
import { PHASES, type NodeProbe, type AwakePeriod } from "./day.js";

const DAY_MS = 86_400_000;

export interface CycleFigures {
  /** awake periods of this kind seen (the power-on boot is left out) */
  count: number;
  /** mean awake time, boot included, ms; mean charge, mAh */
  awakeMs: number;
  mah: number;
  /** mean ms per phase (bench/day.ts PHASES), over the wakes that had it */
  phases: { [phase: string]: number };
}

export interface EnergyFigures {
  power: "battery" | "mains";
  /** mains boards never deep-sleep: per-cycle awake time does not apply */
  alwaysOn: boolean;
  samplePeriodS: number;
  uploadPeriodS: number;
  /** battery boards: a wake that only samples, and one that also uploads */
  sampleCycle: CycleFigures | null;
  uploadCycle: CycleFigures | null;
  /** of the upload wakes, those on the send grid ("upload: window") with the static address: planned, so joined ahead (the daily DHCP one left out) */
  plannedUploadCycle: CycleFigures | null;
  /** completed sampling cycles and uploads per day (firmware counters) */
  cyclesPerDay: number;
  uploadsPerDay: number;
  /** mains boards: charge per sampling period (charge per day / cycles per day) */
  mahPerPeriod: number | null;
  mahPerDay: number;
  /** battery boards: where the charge of a day goes (wakes: their count a day x mean charge; sleep: the rest) */
  split: { sleep: number; sampleWakes: number; uploadWakes: number } | null;
  averageMa: number;
  batteryMah: number | null;
  /** share of the nameplate capacity counted on (sim/energy.ts) */
  usableFraction: number;
  batteryLifeDays: number | null;
  awakeShare: number;
  radioShare: number;
}

export interface RadioFigures {
  readingsPerDay: number;
  /** TCP payload bytes written / read by the node per reading delivered (MQTT framing, CONNECT, status, pings all in) */
  txBytesPerReading: number | null;
  rxBytesPerReading: number | null;
  /** of which data PUBLISH packets alone */
  dataBytesPerReading: number | null;
  /** data messages per upload, and all PUBLISH packets (data + status) per upload */
  messagesPerUpload: number | null;
  publishesPerUpload: number | null;
  connectsPerDay: number;
  txBytesPerDay: number;
  rxBytesPerDay: number;
  /** packets written per day by type */
  packetsPerDay: { [type: string]: number };
}

export interface FlashFigures {
  /** bytes the store and the firmware wrote (headers included), per day */
  bytesPerDay: number;
  /** bytes Storage compaction copied during the run, per day (0 when no compaction fell in it) */
  compactionBytesPerDay: number;
  compactions: number;
  storageBytes: number;
  /** bytes of live files that every compaction copies back (bundle, config, state, queue) */
  liveBytes: number;
  /** flash erased per byte written: each compaction erases the area to reclaim storage - live bytes */
  amplification: number;
  enduranceCycles: number;
  erasesPerSectorPerDay: number;
  years: number;
}

function mean(periods: AwakePeriod[]): CycleFigures | null {
  if (!periods.length) return null;
  const sum = (k: "ms" | "mah") => periods.reduce((s, p) => s + p[k], 0);
  const phases: { [phase: string]: number } = {};
  for (const ph of PHASES) {
    const seen = periods.filter((p) => p.phases[ph] !== undefined);
    if (seen.length) phases[ph] = seen.reduce((a, p) => a + p.phases[ph], 0) / seen.length;
  }
  return { count: periods.length, awakeMs: sum("ms") / periods.length, mah: sum("mah") / periods.length, phases };
}

export function energyFigures(probe: NodeProbe, node: NodeSummary, durationMs: number, startMs: number): EnergyFigures {
  const p = probe.profile;
  const perDay = DAY_MS / durationMs;
  // the awake period that began at power-on is a first boot, not a cycle
  const periods = probe.periods.filter((x) => x.t > startMs);
  // no deep sleep in the run: a mains node (battery boards sleep after every cycle)
  const alwaysOn = probe.periods.length === 0 && node.wakes === 0;
  const c = probe.counters;
  const cyclesPerDay = c ? c.cycles * perDay : 0;
  const sampleCycle = alwaysOn ? null : mean(periods.filter((x) => !x.radio));
  const uploadCycle = alwaysOn ? null : mean(periods.filter((x) => x.radio));
  const plannedUploadCycle = alwaysOn ? null : mean(periods.filter((x) => x.radio && x.why === "window" && x.staticIp));
  const wakesMah = (f: CycleFigures | null) => (f ? f.count * f.mah * perDay : 0);
  // the power-on boot's charge is in the node's total: the split leaves it out the same way
  const first = probe.periods.filter((x) => x.t <= startMs).reduce((a, x) => a + x.mah, 0) * perDay;
  const split = alwaysOn || p.power.source !== "battery" ? null : {
    sampleWakes: wakesMah(sampleCycle),
    uploadWakes: wakesMah(uploadCycle),
    sleep: Math.max(0, node.mahPerDay - first - wakesMah(sampleCycle) - wakesMah(uploadCycle)),
  };
  return {
    power: p.power.source,
    alwaysOn,
    samplePeriodS: p.defaults.samplePeriodS,
    uploadPeriodS: p.defaults.uploadPeriodS,
    sampleCycle,
    uploadCycle,
    plannedUploadCycle,
    cyclesPerDay,
    uploadsPerDay: c ? c.uploads * perDay : 0,
    mahPerPeriod: alwaysOn && cyclesPerDay > 0 ? node.mahPerDay / cyclesPerDay : null,
    mahPerDay: node.mahPerDay,
    split,
    averageMa: node.averageMa,
    batteryMah: p.power.batteryMah ?? null,
    usableFraction: USABLE_FRACTION,
    batteryLifeDays: node.batteryLifeDays,
    awakeShare: node.awakeMs / durationMs,
    radioShare: node.radioMs / durationMs,
  };
}

export function radioFigures(probe: NodeProbe, node: NodeSummary, durationMs: number): RadioFigures {
  const w = probe.wire;
  const perDay = DAY_MS / durationMs;
  const delivered = node.acked;
  const uploads = probe.counters?.uploads ?? 0;
  const per = (x: number, n: number) => (n > 0 ? x / n : null);
  const packetsPerDay: { [type: string]: number } = {};
  for (const [k, v] of Object.entries(w.txPackets)) packetsPerDay[k] = v * perDay;
  return {
    readingsPerDay: node.readings * perDay,
    txBytesPerReading: per(w.txBytes, delivered),
    rxBytesPerReading: per(w.rxBytes, delivered),
    dataBytesPerReading: per(w.dataPublishBytes, delivered),
    messagesPerUpload: per(w.dataPublishes, uploads),
    publishesPerUpload: per(w.txPackets.PUBLISH ?? 0, uploads),
    connectsPerDay: w.connects * perDay,
    txBytesPerDay: w.txBytes * perDay,
    rxBytesPerDay: w.rxBytes * perDay,
    packetsPerDay,
  };
}

export function flashFigures(probe: NodeProbe, durationMs: number): FlashFigures {
  const perDay = DAY_MS / durationMs;
  const bytesPerDay = probe.flashBytes * perDay;
  const reclaimable = Math.max(1, probe.storageBytes - probe.liveBytes);
  const amplification = probe.storageBytes / reclaimable;
  const life = flashLifeYears(bytesPerDay, probe.storageBytes, FLASH_ENDURANCE_CYCLES, amplification);
  return {
    bytesPerDay,
    compactionBytesPerDay: probe.compactionBytes * perDay,
    compactions: probe.compactions,
    storageBytes: probe.storageBytes,
    liveBytes: probe.liveBytes,
    amplification,
    enduranceCycles: life.enduranceCycles,
    erasesPerSectorPerDay: life.erasesPerSectorPerDay,
    years: life.years,
  };
}
