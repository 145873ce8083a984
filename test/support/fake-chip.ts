// Test support for the node runtime: a fake chip (Platform) on virtual time whose deep sleep,
// reset and power cut really end the boot (its timers die) and start the firmware afresh
// from what is in flash, a broker played at the MQTT packet level over the fake net, and
// fake sensors that log what the scheduler does to them.

import { createHash } from "node:crypto";
import { installVirtualTime, runFor, type VirtualTime } from "./virtual-time.js";
import { SimStorage } from "../../sim/espruino/storage.js";
import { FakeNet, FakeSocket, srv, type ClientPacket } from "./fake-net.js";
import { newCounters, okResult, faultResult } from "../../drivers/types.js";
import type { Sensor, Actuator, Reading, SensorResult, DriverCounters } from "../../drivers/types.js";
import type { BoardProfile } from "../../firmware/board.js";
import type { Platform, WakeCause } from "../../firmware/platform.js";
import { startNode, type NodeOptions } from "../../firmware/node.js";
import { relayHooks } from "../../firmware/streetlight/hook.js";
import { ldenHooks } from "../../firmware/runtime/lden.js";
import type { NodeConsole } from "../../firmware/runtime/console.js";
import { signCommand } from "../../firmware/messages/commands.js";

export const sha256 = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest().toString("latin1");
export const KEY = "5a".repeat(32);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** A sensor that logs [time, event] and returns value(t) (null = a timeout fault). */
export class FakeSensor implements Sensor {
  readonly name: string;
  readonly model: string;
  readonly warmupMs: number;
  readonly counters: DriverCounters = newCounters();
  events: Array<[number, string]> = [];
  on = false;
  onAt = 0;
  readMs = 200;
  constructor(name: string, warmupMs: number, public value: (t: number) => Reading[] | null, model = "fake") {
    this.name = name;
    this.warmupMs = warmupMs;
    this.model = model;
  }
  configure(): void {
    this.events.push([Date.now(), "configure"]);
  }
  describe(): string {
    return this.model + " (fake)";
  }
  powerOn(onSinceMs?: number): void {
    this.events.push([Date.now(), "on"]);
    this.on = true;
    this.onAt = onSinceMs ?? Date.now();
  }
  powerOff(): void {
    this.events.push([Date.now(), "off"]);
    this.on = false;
  }
  read(): Promise<SensorResult> {
    this.events.push([Date.now(), "read"]);
    return new Promise((resolve) =>
      setTimeout(() => {
        if (!this.on) return resolve(faultResult("off"));
        if (Date.now() - this.onAt < this.warmupMs) return resolve(faultResult("warming"));
        const r = this.value(Date.now());
        resolve(r ? okResult(r) : faultResult("timeout", "fake"));
      }, this.readMs),
    );
  }
}

export class FakeRelay extends FakeSensor implements Actuator {
  state = false;
  constructor(name: string) {
    super(name, 0, () => [{ name: "relay", unit: "/", value: this.state ? 1 : 0 }], "relay");
    this.on = true;
  }
  set(on: boolean): void {
    this.events.push([Date.now(), "set " + on]);
    this.state = on;
  }
  isOn(): boolean {
    return this.state;
  }
  powerOn(): void {}
  powerOff(): void {}
}

export function board(name: string, source: "battery" | "mains", devices: string[] = [], defaults: any = {}): BoardProfile {
  return {
    name, description: "test board", chip: "esp32", power: { source },
    currentMa: { sleep: 0.05, awake: 40, radio: 80 },
    devices: devices.map((d) => ({ name: d, model: "fake", bus: { kind: "pins", pins: {} }, currentMa: { on: 10, off: 0 } })),
    defaults,
  } as BoardProfile;
}

export interface Published {
  t: number;
  topic: string;
  payload: string;
  retain: boolean;
  dup: boolean;
}

export interface ChipOptions {
  board: BoardProfile;
  /** written to casanode.json before the first boot (raw text if a string) */
  config?: object | string;
  sensors?: () => Sensor[];
  actuators?: () => Actuator[];
  /** no deep sleep on this chip (Espruino's Linux build) */
  noDeepSleep?: boolean;
  maxDeepSleepMs?: number;
  /** ms from Wi-Fi connect() to its callback; Infinity = the AP never answers */
  wifiJoinMs?: number;
  /** the chip's E.CRC32 (Platform.crc32); absent: a chip without one */
  crc32?: (data: string) => number;
  /** devices a wake prelude switched on, and how long before the bundle ran (Platform.poweredAtBoot) */
  poweredBeforeBootMs?: { [device: string]: number };
  /** no Wifi module (Linux build) */
  noWifi?: boolean;
  startMs?: number;
  /** startNode's options (console lock, lamp controller) */
  nodeOptions?: NodeOptions;
}

/**
 * One node on virtual time. Every boot runs startNode() afresh on the same flash; deep sleep,
 * reboot and power cuts kill the boot's timers first, as the chip would.
 */
/** afterEach for tests that boot a Chip: show what crashed inside it, put the real timers back */
export function tearDown(chip: Chip | undefined): void {
  if (chip && chip.crashes.length) console.log(chip.crashes.join("\n"));
  chip?.restore();
}

export class Chip {
  vt: VirtualTime;
  storage = new SimStorage();
  net = new FakeNet();
  logs: Array<[number, string]> = [];
  boots: Array<[number, WakeCause]> = [];
  sleeps: Array<[number, number]> = [];
  power: Array<[number, string, boolean]> = [];
  sensors: Sensor[] = [];
  actuators: Actuator[] = [];
  console: NodeConsole | null = null;
  published: Published[] = [];
  /** broker state */
  brokerUp = true;
  wifiUp = true;
  pubackDelayMs = 20;
  sessionPresent = false;
  pendingCmds: string[] = [];
  /** ms after CONNACK at which queued commands reach the node */
  cmdDelayMs = 5;
  /** when the node sent DISCONNECT, and PUBACKs the broker sent */
  disconnects: number[] = [];
  pubacks: number[] = [];
  /** when the broker answered a PINGREQ */
  pings: number[] = [];
  crashes: string[] = [];
  /** the REPL's serial port: what the firmware wrote to it, and whether the REPL is on it */
  consoleOut = "";
  replAttached = true;
  private consoleListeners: Array<(data: string) => void> = [];
  private gen = 0;
  /** the boot (gen) whose poweredAtBoot() was handed over */
  private handedOver = -1;
  private alive = false;
  /** the RTC alarm of a deep sleep, or the supply coming back: the one thing that outlives a boot */
  private wake: any = null;
  private timeouts = new Set<any>();
  private intervals = new Set<any>();
  private base: { st: any; ct: any; si: any; ci: any };
  private nextPacketId = 1;
  private cmdCtr = 0;

  constructor(public opts: ChipOptions) {
    this.vt = installVirtualTime(opts.startMs);
    const g = globalThis as any;
    this.base = { st: g.setTimeout, ct: g.clearTimeout, si: g.setInterval, ci: g.clearInterval };
    g.setTimeout = (cb: () => void, ms?: number) => {
      // a dead chip (between a cut and the next boot) runs nothing it asks for
      if (!this.alive) return -1;
      const gen = this.gen;
      const id = this.base.st(() => {
        this.timeouts.delete(id);
        if (gen === this.gen) this.guard(cb);
      }, ms ?? 0);
      this.timeouts.add(id);
      return id;
    };
    g.clearTimeout = (id: any) => {
      this.timeouts.delete(id);
      this.base.ct(id);
    };
    g.setInterval = (cb: () => void, ms: number) => {
      if (!this.alive) return -1;
      const id = this.base.si(() => this.guard(cb), ms);
      this.intervals.add(id);
      return id;
    };
    g.clearInterval = (id: any) => {
      this.intervals.delete(id);
      this.base.ci(id);
    };
    this.net.onSocket = (s) => this.serve(s);
    if (opts.config !== undefined) this.storage.write("casanode.json", typeof opts.config === "string" ? opts.config : JSON.stringify(opts.config));
  }

  get clock() {
    return this.vt.clock;
  }

  /** an uncaught exception in a timer would reset the chip: record it and fail loudly later */
  private guard(cb: () => void) {
    try {
      cb();
    } catch (e) {
      if ((e as Error).name === "PowerLostError" || /power lost/.test(String(e))) return;
      this.crashes.push(String((e as Error).stack || e));
    }
  }

  restore() {
    this.halt();
    this.vt.restore();
  }

  platform(cause: WakeCause): Platform {
    const self = this;
    const o = this.opts;
    return {
      storage: this.storage,
      net: this.net,
      wifi: o.noWifi ? undefined : (this.wifi() as any),
      sha256,
      crc32: o.crc32,
      wakeCause: () => cause,
      poweredAtBoot: () => {
        const lead = o.poweredBeforeBootMs, bootAt = self.boots[self.boots.length - 1][0], out: { [device: string]: number } = {};
        if (!lead || self.handedOver === self.gen) return null;
        self.handedOver = self.gen;
        for (const d of Object.keys(lead)) out[d] = bootAt - lead[d];
        return out;
      },
      deepSleep: o.noDeepSleep ? undefined : (ms: number) => {
        self.sleeps.push([Date.now(), ms]);
        self.halt();
        self.wake = self.base.st(() => self.boot("deep-sleep"), ms);
      },
      maxDeepSleepMs: o.maxDeepSleepMs ?? 2147483,
      reboot: () => {
        self.halt();
        self.wake = self.base.st(() => self.boot("reset"), 500);
      },
      watchdog: { enable: () => {}, kick: () => {} },
      memory: () => ({ free: 10000, usage: 6383, total: 16383 }),
      log: (line: string) => {
        self.logs.push([Date.now(), line]);
        if (self.replAttached) self.consoleOut += line + "\r\n";
      },
      console: {
        port: {
          setup() {},
          write: (data: any) => void (self.consoleOut += String(data)),
          on: (_event: string, fn: (data: string) => void) => void self.consoleListeners.push(fn),
          removeAllListeners: () => void (self.consoleListeners = []),
        },
        attach: (on: boolean) => void (self.replAttached = on),
      },
      power: (state: string, on: boolean) => self.power.push([Date.now(), state, on]),
    };
  }

  private wifi() {
    const self = this;
    return {
      connect(_ssid: string, _o: any, cb: (err: string | null) => void) {
        const ms = self.opts.wifiJoinMs ?? 2000;
        if (self.wifiUp && Number.isFinite(ms)) setTimeout(() => cb(null), ms);
      },
      disconnect() {},
      on() {},
      removeAllListeners() {},
      getIP: () => ({ ip: "10.0.0.7" }),
      getDetails: () => ({ rssi: -61 }),
      setSNTP() {},
    };
  }

  /** the chip stops: every timer of this boot dies */
  halt() {
    this.alive = false;
    this.gen++;
    if (this.wake !== null) this.base.ct(this.wake);
    this.wake = null;
    for (const id of this.timeouts) this.base.ct(id);
    for (const id of this.intervals) this.base.ci(id);
    this.timeouts.clear();
    this.intervals.clear();
    for (const s of this.net.sockets) if (!s.closed) (s as any).closed = true;
  }

  boot(cause: WakeCause) {
    this.wake = null;
    this.halt();
    // a fresh chip: the REPL is back on its port, no listeners
    this.replAttached = true;
    this.consoleListeners = [];
    this.alive = true;
    this.boots.push([Date.now(), cause]);
    this.sensors = this.opts.sensors ? this.opts.sensors() : [];
    this.actuators = this.opts.actuators ? this.opts.actuators() : [];
    try {
      // the cycle hooks a board entry hands over: the relay's with a relay (boards/esp32-pole.ts),
      // the day levels' as a board with a sound level meter does (boards/esp32-noise.ts)
      const options = { ...(this.actuators.length ? { relay: relayHooks } : {}), lden: ldenHooks, ...this.opts.nodeOptions };
      this.console = startNode(this.platform(cause), this.opts.board, this.sensors, this.actuators, options);
    } catch (e) {
      if (/power lost/.test(String(e))) return;
      this.crashes.push(String((e as Error).stack || e));
    }
  }

  start() {
    this.boot("power-on");
  }

  /** bytes typed on the console port while the REPL is off it (the firmware's lock reads them) */
  type(text: string) {
    if (!this.replAttached) for (const l of this.consoleListeners.slice()) this.guard(() => l(text));
  }

  powerCut(offMs: number) {
    this.halt();
    this.wake = this.base.st(() => this.boot("power-on"), offMs);
  }

  run(ms: number) {
    return runFor(this.clock, ms);
  }

  /** queue a signed command for the node (delivered on its next connection, persistent session) */
  command(cmd: string, args: any, opts: { key?: string; ctr?: number; id?: string; valid?: { ts?: number; ttl?: number } } = {}) {
    const ctr = opts.ctr ?? ++this.cmdCtr;
    const payload = signCommand(this.nodeId(), opts.key ?? KEY, ctr, opts.id ?? "c" + ctr, cmd, args, sha256, opts.valid);
    this.pendingCmds.push(payload);
    const live = this.net.sockets.filter((s) => !s.closed && (s as any).mqttUp);
    if (live.length) this.deliver(live[live.length - 1]);
    return payload;
  }

  nodeId(): string {
    const c = typeof this.opts.config === "object" ? (this.opts.config as any) : {};
    return c.node ?? this.opts.board.name + "-00";
  }

  private deliver(s: FakeSocket) {
    while (this.pendingCmds.length) {
      const p = this.pendingCmds.shift()!;
      s.feed(srv.publish(`casanode/${(this.opts.config as any)?.site ?? "sim"}/${this.nodeId()}/cmd`, p, 1, 60000 + this.nextPacketId++));
    }
  }

  /** the broker, at the packet level */
  private serve(s: FakeSocket) {
    const orig = s.write.bind(s);
    s.write = (data: string) => {
      const r = orig(data);
      for (const p of s.newPackets()) this.handle(s, p);
      return r;
    };
  }

  private handle(s: FakeSocket, p: ClientPacket) {
    if (!this.brokerUp) return s.fail("connection reset");
    if (p.type === 1) {
      s.feed(srv.connack(this.sessionPresent));
      (s as any).mqttUp = true;
      this.sessionPresent = !p.connect!.cleanSession;
      setTimeout(() => this.deliver(s), this.cmdDelayMs);
    } else if (p.type === 8) s.feed(srv.suback(p.id!, p.subscriptions!.map((x) => x.qos)));
    else if (p.type === 3) {
      this.published.push({ t: Date.now(), topic: p.topic!, payload: p.payload!, retain: !!p.retain, dup: !!p.dup });
      if (p.qos === 1) {
        const id = p.id!;
        setTimeout(() => {
          if (!this.brokerUp) return;
          this.pubacks.push(Date.now());
          s.feed(srv.puback(id));
        }, this.pubackDelayMs);
      }
    } else if (p.type === 12) {
      this.pings.push(Date.now());
      s.feed(srv.pingresp());
    }
    else if (p.type === 14) {
      this.disconnects.push(Date.now());
      s.close();
    }
  }

  topic(kind: string): Published[] {
    return this.published.filter((m) => m.topic.endsWith("/" + kind));
  }

  /** values the broker got in data messages, by "name@t" (duplicates from resends collapse) */
  dataValues(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.topic("data")) {
      const pack = JSON.parse(m.payload);
      let bn = "", bt = 0;
      for (const r of pack) {
        if (r.bn !== undefined) bn = r.bn;
        if (r.bt !== undefined) bt = r.bt;
        out.set(r.n + "@" + (bt + (r.t ?? 0)), r.v);
      }
      void bn;
    }
    return out;
  }

  /** count of values in data messages, resends included */
  dataCount(): number {
    let n = 0;
    for (const m of this.topic("data")) n += JSON.parse(m.payload).length;
    return n;
  }

  logText(): string {
    return this.logs.map(([t, l]) => new Date(t).toISOString() + " " + l).join("\n");
  }
}
