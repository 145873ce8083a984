// Fault injection for fleet runs.
//
//   --fault <kind>[:<target>]@<start>[+<length>]
//
// kind     wifi-down | broker-down | power-cut       (node faults)
//          unplug | garbage | stuck | bad-checksum   (device faults)
// target   node faults:   <node>           a node id ("air-01"), a board name ("esp32-air")
//                                          or "*"; omitted = every node
//          device faults: [<node>/]<device> a device name ("pm") or model ("sds011") on
//                                          the selected nodes (omitted node = every node)
// start    offset from the start of the run: "90m", "6h", "1h30m", "2d", "30s"
// length   how long it lasts; omitted = until the end of the run, except power-cut: 5 s
//
// Examples: wifi-down@2h+30m   broker-down@6h+1h   power-cut:pole-01@3h+10s
//           unplug:pm@1h+2h    garbage:air-02/sds011@30m+10m   stuck:bin@4h

import type { VirtualClock } from "./clock.js";
import type { DeviceFaults, SimDevice } from "./devices/types.js";
import { DurationError, formatDuration, parseDuration } from "./duration.js";
import { type Rng, intBetween, uniform } from "./random.js";

export const NODE_FAULTS = ["wifi-down", "broker-down", "power-cut"] as const;
export const DEVICE_FAULTS = ["unplug", "garbage", "stuck", "bad-checksum"] as const;
export type NodeFaultKind = (typeof NODE_FAULTS)[number];
export type DeviceFaultKind = (typeof DEVICE_FAULTS)[number];
export type FaultKind = NodeFaultKind | DeviceFaultKind;

export const FAULT_SYNTAX = "<kind>[:<node>|[<node>/]<device>]@<start>[+<length>], e.g. wifi-down@2h+30m, unplug:pm@1h+2h, power-cut:air-01@3h";

/** a power cut without a length lasts this long (the supply blips) */
export const DEFAULT_POWER_CUT_MS = 5000;

const FLAG: { [k in DeviceFaultKind]: keyof DeviceFaults } = {
  unplug: "unplugged",
  garbage: "garbage",
  stuck: "stuck",
  "bad-checksum": "badChecksum",
};

export class FaultSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FaultSpecError";
  }
}

export interface FaultSpec {
  kind: FaultKind;
  /** node id, board name or "*"; undefined = every node */
  node?: string;
  /** device name or model (device faults only) */
  device?: string;
  /** offset from the start of the run, ms */
  startMs: number;
  /** undefined = to the end of the run (power-cut: DEFAULT_POWER_CUT_MS) */
  lengthMs?: number;
  /** the spec as given */
  text: string;
}

const NAME = /^[A-Za-z0-9._-]+$/;

function isNodeFault(kind: string): kind is NodeFaultKind {
  return (NODE_FAULTS as readonly string[]).includes(kind);
}
function isDeviceFault(kind: string): kind is DeviceFaultKind {
  return (DEVICE_FAULTS as readonly string[]).includes(kind);
}

/** parse one --fault spec; throws FaultSpecError (one line, says what is wrong) on bad input */
export function parseFaultSpec(text: string): FaultSpec {
  const spec = String(text).trim();
  const bad = (why: string) => new FaultSpecError(`bad fault "${text}": ${why} (syntax: ${FAULT_SYNTAX})`);
  const at = spec.indexOf("@");
  if (at < 0) throw bad('missing "@<start>"');
  const head = spec.slice(0, at);
  const when = spec.slice(at + 1);
  const colon = head.indexOf(":");
  const kind = (colon < 0 ? head : head.slice(0, colon)).toLowerCase();
  const target = colon < 0 ? undefined : head.slice(colon + 1);
  if (!kind) throw bad("missing the kind");
  if (!isNodeFault(kind) && !isDeviceFault(kind)) {
    throw bad(`unknown kind "${kind}"; kinds: ${[...NODE_FAULTS, ...DEVICE_FAULTS].join(", ")}`);
  }
  let node: string | undefined;
  let device: string | undefined;
  if (target !== undefined) {
    if (target === "") throw bad('empty target after ":"');
    const parts = target.split("/");
    if (isNodeFault(kind)) {
      if (parts.length !== 1) throw bad(`${kind} targets a node (id, board or *), not a device`);
      node = parts[0];
    } else {
      if (parts.length > 2) throw bad('target is <node>/<device>, with one "/"');
      if (parts.length === 2) node = parts[0];
      device = parts[parts.length - 1];
    }
    if (node !== undefined && node !== "*" && !NAME.test(node)) throw bad(`bad node "${node}" (letters, digits, . _ - or *)`);
    if (device !== undefined && !NAME.test(device)) throw bad(`bad device "${device}" (a device name like pm or a model like sds011)`);
    if (node === "*") node = undefined;
  }
  if (isDeviceFault(kind) && device === undefined) throw bad(`${kind} needs a device, e.g. ${kind}:pm@1h`);
  const plus = when.indexOf("+");
  const startText = plus < 0 ? when : when.slice(0, plus);
  const lengthText = plus < 0 ? undefined : when.slice(plus + 1);
  let startMs: number;
  let lengthMs: number | undefined;
  try {
    startMs = parseDuration(startText);
    if (lengthText !== undefined) lengthMs = parseDuration(lengthText);
  } catch (err) {
    if (err instanceof DurationError) throw bad(err.message);
    throw err;
  }
  if (lengthMs !== undefined && lengthMs <= 0) throw bad("length must be more than 0");
  return { kind, node, device, startMs, lengthMs, text: spec };
}

/** What the scheduler needs of a node: SimNode satisfies it. */
export interface FaultTarget {
  id: string;
  /** board profile name, so a fault can target every node of a board */
  board: string;
  devices: { [name: string]: SimDevice };
  powerCut(offMs: number): void;
}

export interface AppliedFault {
  kind: FaultKind;
  node: string;
  device?: string;
  /** absolute virtual times, ms */
  startMs: number;
  endMs: number;
  text: string;
}

interface Interval { start: number; end: number }

/** a node of the whole fleet as a fault spec may name it, whether or not this process runs it */
export interface FleetTargetName {
  id: string;
  board: string;
  devices: Array<{ name: string; model: string }>;
}

/**
 * Applies parsed faults to a fleet on the virtual clock. Wi-Fi and broker outages are
 * intervals the node's SimWifiNetwork.up / brokerReachable consult (pure functions of t);
 * power cuts and device faults are timers.
 */
export class FaultScheduler {
  readonly applied: AppliedFault[] = [];
  private wifiDown = new Map<string, Interval[]>();
  private brokerDown = new Map<string, Interval[]>();
  /** overlapping faults of one flag: cleared when the last ends */
  private holds = new Map<SimDevice, Map<keyof DeviceFaults, number>>();

  constructor(
    private clock: VirtualClock,
    private runStartMs: number,
    private runEndMs: number,
    private nodes: FaultTarget[],
    private log: (line: string) => void = () => {},
    /** every node of the fleet when this process runs a shard of it: a spec is checked against the fleet, applied to the shard's nodes */
    private fleet?: FleetTargetName[],
  ) {}

  private selects(spec: FaultSpec, n: { id: string; board: string }): boolean {
    return spec.node === undefined || n.id === spec.node || n.board === spec.node;
  }

  /** nodes a spec selects; throws FaultSpecError if none in the fleet (none in this shard is fine) */
  private select(spec: FaultSpec): FaultTarget[] {
    const hit = this.nodes.filter((n) => this.selects(spec, n));
    const all: Array<{ id: string }> = this.fleet ?? this.nodes;
    if (!hit.length && !(this.fleet ?? []).some((n) => this.selects(spec, n))) {
      const ids = all.length > 20 ? `${all.slice(0, 20).map((n) => n.id).join(", ")}, ... (${all.length})` : all.map((n) => n.id).join(", ");
      throw new FaultSpecError(`fault "${spec.text}": no node "${spec.node}" (nodes: ${ids}; or a board name)`);
    }
    return hit;
  }

  /** a device fault that hits no device here: refused unless it hits one on another shard's node */
  private hitsElsewhere(spec: FaultSpec): boolean {
    return (this.fleet ?? []).some((n) => this.selects(spec, n) && n.devices.some((d) => d.name === spec.device || d.model === spec.device));
  }

  /** check and schedule every spec; nothing is scheduled if one is bad */
  schedule(specs: FaultSpec[]): void {
    const plans: Array<() => void> = [];
    for (const spec of specs) {
      const start = this.runStartMs + spec.startMs;
      const length = spec.lengthMs ?? (spec.kind === "power-cut" ? DEFAULT_POWER_CUT_MS : Math.max(0, this.runEndMs - start));
      const end = start + length;
      const nodes = this.select(spec);
      if (isNodeFault(spec.kind)) {
        for (const node of nodes) plans.push(() => this.planNodeFault(spec, node, start, end));
      } else {
        const kind = spec.kind as DeviceFaultKind;
        const targets: Array<[FaultTarget, string, SimDevice]> = [];
        for (const node of nodes) {
          for (const [name, dev] of Object.entries(node.devices)) {
            if (name === spec.device || dev.model === spec.device) targets.push([node, name, dev]);
          }
        }
        if (!targets.length && !this.hitsElsewhere(spec)) throw new FaultSpecError(`fault "${spec.text}": no device "${spec.device}" on the selected nodes`);
        for (const [node, name, dev] of targets) plans.push(() => this.planDeviceFault(spec, kind, node, name, dev, start, end));
      }
    }
    for (const plan of plans) plan();
    this.applied.sort((a, b) => a.startMs - b.startMs || a.node.localeCompare(b.node));
  }

  private at(t: number, fn: () => void): void {
    this.clock.setTimeout(fn, Math.max(0, t - this.clock.now()));
  }

  private planNodeFault(spec: FaultSpec, node: FaultTarget, start: number, end: number): void {
    if (start >= this.runEndMs) return;
    this.applied.push({ kind: spec.kind, node: node.id, startMs: start, endMs: end, text: spec.text });
    if (spec.kind === "power-cut") {
      this.at(start, () => {
        this.log(`${node.id}: power cut for ${formatDuration(end - start)}`);
        node.powerCut(end - start);
      });
      return;
    }
    const map = spec.kind === "wifi-down" ? this.wifiDown : this.brokerDown;
    const list = map.get(node.id) ?? [];
    list.push({ start, end });
    map.set(node.id, list);
    // wake the clock at the edges so logs and traces show them even if every node sleeps
    this.at(start, () => this.log(`${node.id}: ${spec.kind} for ${formatDuration(end - start)}`));
    this.at(end, () => this.log(`${node.id}: ${spec.kind} over`));
  }

  private planDeviceFault(spec: FaultSpec, kind: DeviceFaultKind, node: FaultTarget, name: string, dev: SimDevice, start: number, end: number): void {
    if (start >= this.runEndMs) return;
    const flag = FLAG[kind];
    this.applied.push({ kind, node: node.id, device: name, startMs: start, endMs: end, text: spec.text });
    this.at(start, () => {
      this.hold(dev, flag, +1);
      this.log(`${node.id}/${name}: ${kind} for ${formatDuration(end - start)}`);
    });
    this.at(end, () => {
      this.hold(dev, flag, -1);
      this.log(`${node.id}/${name}: ${kind} over`);
    });
  }

  private hold(dev: SimDevice, flag: keyof DeviceFaults, delta: number): void {
    const holds = this.holds.get(dev) ?? new Map<keyof DeviceFaults, number>();
    this.holds.set(dev, holds);
    const n = Math.max(0, (holds.get(flag) ?? 0) + delta);
    holds.set(flag, n);
    (dev.faults as unknown as { [k: string]: boolean | number })[flag] = n > 0;
  }

  wifiUp(nodeId: string, tMs: number): boolean {
    return !inAny(this.wifiDown.get(nodeId), tMs);
  }

  brokerReachable(nodeId: string, tMs: number): boolean {
    return !inAny(this.brokerDown.get(nodeId), tMs);
  }
}

function inAny(list: Interval[] | undefined, t: number): boolean {
  if (!list) return false;
  for (const i of list) if (t >= i.start && t < i.end) return true;
  return false;
}

/** n power cuts at random instants (not in the first minute) on random nodes, 1-30 s each */
export function randomPowerCuts(n: number, rng: Rng, nodeIds: string[], durationMs: number): FaultSpec[] {
  const out: FaultSpec[] = [];
  if (!nodeIds.length) return out;
  const from = Math.min(60_000, durationMs / 2);
  for (let i = 0; i < n; i++) {
    const startMs = Math.round(uniform(rng, from, durationMs));
    const node = nodeIds[intBetween(rng, 0, nodeIds.length - 1)];
    const lengthMs = intBetween(rng, 1, 30) * 1000;
    out.push(parseFaultSpec(`power-cut:${node}@${formatDuration(startMs)}+${formatDuration(lengthMs)}`));
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}
