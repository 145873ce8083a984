// require("Wifi") of Espruino's ESP32 build, on a simulated access point.
//
// Behaviour (libs/network/jswrap_wifi.c docs and libs/network/esp32/jswrap_esp32_network.c):
// - connect(ssid, {password}, cb): joining takes 1.5-4 s (association + DHCP), then cb(null)
//   and a "connected" event {ip, netmask, gw}. A wrong password gives cb("Bad password").
//   While the access point is down (or the SSID is wrong) the station keeps retrying and
//   NO callback comes: the documented contract is that "Bad password" is the only error, so
//   firmware needs its own timeout. (2v29's ESP32 source gives up after 3 retries and calls
//   back with the reason, e.g. "NO_AP_FOUND": `reportsFailure` turns that behaviour on.)
// - when the AP goes away the link is lost within a few seconds: "disconnected" event
//   {ssid, mac, reason, msg}; the station does not rejoin by itself.
// - getDetails(): {status:"connected", ssid, rssi...} or {status:<last disconnect reason>}.
//   (The real ESP32 build has no rssi in getDetails; the simulator adds one, so treat it as optional.)
// - setSNTP(server, zone): zone must be a string (a POSIX TZ like "UTC0"), else it throws
//   "Zone is not a string" as the ESP32 build does; once connected, time is set ~1 s later.
// - setIP({ip, gw, netmask}, cb) (ESP32 build since 2v25, jswrap_esp32_network.c): stops the
//   DHCP client and sets the address; throws "Not a valid IP address" / "...Gateway address" /
//   "...Netmask" on a bad field. Its callback argument is inverted: "Failure" when it worked,
//   null when it did not. Without DHCP no DNS server is set: names do not resolve (SNTP by
//   name never answers). An address outside the access point's subnet joins but reaches nothing.
// - joining takes WIFI_JOIN_MIN_MS-WIFI_JOIN_MAX_MS with DHCP, WIFI_STATIC_JOIN_*_MS with a
//   static address (sources: sim/current-sources.ts WIFI_JOIN_SOURCES).
// The radio counts as on from connect() until disconnect() (or the chip sleeps).

import type { VirtualClock } from "../clock.js";

export interface SimWifiNetworkLike {
  ssid: string;
  password: string;
  up(tMs: number): boolean;
}

export interface WifiHost {
  clock: VirtualClock;
  network: SimWifiNetworkLike;
  rng: () => number;
  /** call a firmware callback once the interpreter is idle (dropped when the boot is gone; exceptions become "Uncaught") */
  invoke(fn: (...args: any[]) => any, args: any[]): void;
  /** throw if the boot is gone (every API call checks it) */
  check(): void;
  /** the radio went on/off (energy, trace) */
  radio(on: boolean): void;
  /** the link came up / went down (net's blocked() follows it) */
  link(up: boolean): void;
  /** SNTP answered: set the real time */
  timeSynced(): void;
  /** a value in the node's realm (plain objects the firmware will read) */
  obj(o: object): any;
  error(message: string): Error;
  ip: string;
  mac: string;
  /** base RSSI of this node's spot, dBm */
  rssiDbm: number;
  /** give up after 3 retries with the reason, as 2v29's ESP32 source does (default: never call back) */
  reportsFailure?: boolean;
}

/** scan + association + DHCP take this long (uniform), ms */
export const WIFI_JOIN_MIN_MS = 1500;
export const WIFI_JOIN_MAX_MS = 4000;
/** scan + association with a static address (no DHCP exchange), ms */
export const WIFI_STATIC_JOIN_MIN_MS = 550;
export const WIFI_STATIC_JOIN_MAX_MS = 900;
/** a lost AP is noticed after missed beacons: checked this often, ms */
export const WIFI_LINK_CHECK_MS = 3000;
/** SNTP answer after the link is up, ms */
export const SNTP_REPLY_MS = 1200;
const RETRIES_BEFORE_GIVING_UP = 3;

type State = "off" | "joining" | "connected" | "idle";

export class SimWifi implements WifiModule {
  private state: State = "off";
  private listeners: { [event: string]: Array<(...a: any[]) => void> } = {};
  private timer: number | undefined;
  private linkTimer: number | undefined;
  private sntpTimer: number | undefined;
  private sntp = false;
  private cb: ((err: string | null) => void) | undefined;
  private lastReason = { code: 0, msg: "Unknown reason" };
  private ssid = "";
  private password = "";
  private attempts = 0;
  private radioOn = false;
  /** set by setIP: no DHCP, this address */
  private staticIp: { ip: string; gw: string; netmask: string } | undefined;

  constructor(private host: WifiHost) {}

  connect(ssid: string, options: { password?: string }, callback: (err: string | null) => void): void {
    const h = this.host;
    h.check();
    this.stopTimers();
    if (this.state === "connected") this.setLink(false);
    this.ssid = String(ssid);
    this.password = options && options.password !== undefined ? String(options.password) : "";
    this.cb = typeof callback === "function" ? callback : undefined;
    this.state = "joining";
    this.attempts = 0;
    this.setRadio(true);
    this.scheduleAttempt();
  }

  disconnect(callback?: () => void): void {
    const h = this.host;
    h.check();
    const was = this.state;
    this.stopTimers();
    this.cb = undefined;
    this.state = "off";
    if (was === "connected") this.setLink(false);
    this.setRadio(false);
    this.lastReason = { code: 8, msg: "ASSOC_LEAVE" };
    this.timer = h.clock.setTimeout(() => {
      this.timer = undefined;
      if (was === "connected") this.emit("disconnected", h.obj({ ssid: this.ssid, mac: h.mac, reason: "8", msg: "ASSOC_LEAVE" }));
      if (typeof callback === "function") h.invoke(callback, []);
    }, 10);
  }

  on(event: string, listener: (details?: any) => void): void {
    this.host.check();
    if (typeof listener === "function") (this.listeners[event] ??= []).push(listener);
  }

  removeListener(event: string, listener: (details?: any) => void): void {
    const list = this.listeners[event];
    if (list) this.listeners[event] = list.filter((l) => l !== listener);
  }

  removeAllListeners(event?: string): void {
    if (event === undefined) this.listeners = {};
    else delete this.listeners[event];
  }

  getIP(callback?: (err: any, ip: { ip: string }) => void): { ip: string } {
    const h = this.host;
    h.check();
    const up = this.state === "connected";
    const st = this.staticIp;
    const info = h.obj({ ip: up ? (st ? st.ip : h.ip) : "0.0.0.0", netmask: up ? (st ? st.netmask : "255.255.255.0") : "0.0.0.0", gw: up ? (st ? st.gw : gatewayOf(h.ip)) : "0.0.0.0", mac: h.mac });
    if (typeof callback === "function") this.later(() => h.invoke(callback, [null, info]));
    return info;
  }

  getDetails(callback?: (details: WifiDetails) => void): WifiDetails {
    const h = this.host;
    h.check();
    const d: any =
      this.state === "connected"
        ? { ssid: this.ssid, password: this.password, status: "connected", authMode: "wpa2_psk", rssi: Math.round(h.rssiDbm + (h.rng() - 0.5) * 6) }
        : { status: this.lastReason.msg };
    const details = h.obj(d);
    if (typeof callback === "function") this.later(() => h.invoke(callback, [details]));
    return details;
  }

  getStatus(): any {
    this.host.check();
    return this.host.obj({ station: this.state === "connected" ? "connected" : this.state === "joining" ? "connecting" : "off", ap: "disabled", mode: this.radioOn ? "STA" : "NULL" });
  }

  setIP(settings: any, callback?: (r: string | null) => void): void {
    const h = this.host;
    h.check();
    if (!settings || typeof settings !== "object") throw h.error("Expecting an Object, got " + typeof settings);
    const field = (k: string, what: string) => {
      const v = settings[k];
      if (typeof v !== "string" || !parseIp(v)) throw h.error("Not a valid " + what);
      return v;
    };
    const ip = field("ip", "IP address"), gw = field("gw", "Gateway address"), netmask = field("netmask", "Netmask");
    this.staticIp = { ip, gw, netmask };
    // inverted, as the ESP32 build: "Failure" means it worked
    if (typeof callback === "function") this.later(() => h.invoke(callback, ["Failure"]));
    else throw h.error("Callback is not a function");
  }

  /** sockets can reach the broker: joined, and (static) on the access point's subnet */
  get routable(): boolean {
    if (this.state !== "connected") return false;
    const s = this.staticIp;
    return !s || (sameSubnet(s.ip, this.host.ip, s.netmask) && sameSubnet(s.gw, gatewayOf(this.host.ip), s.netmask));
  }

  /** names resolve: joined with DHCP (a static address sets no DNS server) */
  get dns(): boolean {
    return this.state === "connected" && !this.staticIp;
  }

  setSNTP(server: string, zone: any): void {
    this.host.check();
    if (typeof zone !== "string") throw this.host.error("Zone is not a string");
    if (typeof server !== "string") throw this.host.error("Server is not a string");
    // a name needs DNS, which only DHCP sets up
    if (this.staticIp && !parseIp(server)) return;
    this.sntp = true;
    if (this.state === "connected") this.scheduleSntp();
  }

  setHostname(_name: string): void {
    this.host.check();
  }

  save(): void {
    this.host.check();
  }

  /** the chip stops (deep sleep, reset): radio off, nothing more is delivered */
  shutdown(): void {
    this.stopTimers();
    this.cb = undefined;
    this.listeners = {};
    if (this.state === "connected") this.setLink(false);
    this.state = "off";
    this.setRadio(false);
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  // ---- internals ----
  private scheduleAttempt(): void {
    const h = this.host;
    const [min, max] = this.staticIp ? [WIFI_STATIC_JOIN_MIN_MS, WIFI_STATIC_JOIN_MAX_MS] : [WIFI_JOIN_MIN_MS, WIFI_JOIN_MAX_MS];
    const delay = min + (max - min) * h.rng();
    this.timer = h.clock.setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, delay);
  }

  private attempt(): void {
    const h = this.host;
    const net = h.network;
    if (this.state !== "joining") return;
    if (!net.up(h.clock.now()) || this.ssid !== net.ssid) {
      this.lastReason = { code: 201, msg: "NO_AP_FOUND" };
      this.attempts++;
      if (h.reportsFailure && this.attempts >= RETRIES_BEFORE_GIVING_UP) {
        this.state = "idle";
        this.emit("disconnected", h.obj({ ssid: this.ssid, mac: "00:00:00:00:00:00", reason: "201", msg: "NO_AP_FOUND" }));
        this.finish("NO_AP_FOUND");
        return;
      }
      this.scheduleAttempt(); // keep scanning: no callback
      return;
    }
    if (this.password !== net.password) {
      this.lastReason = { code: 202, msg: "AUTH_FAIL" };
      this.state = "idle";
      this.finish("Bad password");
      return;
    }
    this.state = "connected";
    this.setLink(true);
    const st = this.staticIp;
    this.emit("connected", h.obj(st ? { ip: st.ip, netmask: st.netmask, gw: st.gw } : { ip: h.ip, netmask: "255.255.255.0", gw: gatewayOf(h.ip) }));
    this.finish(null);
    this.watchLink();
    if (this.sntp) this.scheduleSntp();
  }

  private finish(err: string | null): void {
    const cb = this.cb;
    this.cb = undefined;
    if (cb) this.host.invoke(cb, [err]);
  }

  private watchLink(): void {
    const h = this.host;
    this.linkTimer = h.clock.setTimeout(() => {
      this.linkTimer = undefined;
      if (this.state !== "connected") return;
      if (h.network.up(h.clock.now())) return this.watchLink();
      this.state = "idle";
      this.lastReason = { code: 200, msg: "BEACON_TIMEOUT" };
      this.setLink(false);
      this.emit("disconnected", h.obj({ ssid: this.ssid, mac: h.mac, reason: "200", msg: "BEACON_TIMEOUT" }));
    }, WIFI_LINK_CHECK_MS);
  }

  private scheduleSntp(): void {
    const h = this.host;
    if (this.sntpTimer !== undefined) return;
    this.sntpTimer = h.clock.setTimeout(() => {
      this.sntpTimer = undefined;
      if (this.state === "connected") h.timeSynced();
    }, SNTP_REPLY_MS);
  }

  private emit(event: string, details: any): void {
    for (const l of (this.listeners[event] ?? []).slice()) this.host.invoke(l, [details]);
  }

  private later(fn: () => void): void {
    this.host.clock.setTimeout(fn, 0);
  }

  private setRadio(on: boolean): void {
    if (on === this.radioOn) return;
    this.radioOn = on;
    this.host.radio(on);
  }

  private setLink(up: boolean): void {
    this.host.link(up);
  }

  private stopTimers(): void {
    const c = this.host.clock;
    if (this.timer !== undefined) c.clearTimeout(this.timer);
    if (this.linkTimer !== undefined) c.clearTimeout(this.linkTimer);
    if (this.sntpTimer !== undefined) c.clearTimeout(this.sntpTimer);
    this.timer = this.linkTimer = this.sntpTimer = undefined;
  }
}

function parseIp(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) return null;
  const v = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  return v === 0 ? null : v;
}

function sameSubnet(a: string, b: string, mask: string): boolean {
  const m = parseIp(mask) ?? 0;
  return ((parseIp(a) ?? 0) & m) === ((parseIp(b) ?? 0) & m);
}

function gatewayOf(ip: string): string {
  return ip.replace(/\.\d+$/, ".1");
}
