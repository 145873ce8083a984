// Node config: schema, defaults and the ONE validator, used by the provisioning tool and the
// simulator on the host and by the node at boot. Firmware code: ES5, Espruino subset.
// Layers, lowest first: embedded defaults < board profile defaults < casanode.json < changes
// made by authenticated "config" commands (kept in the store).

import type { BoardProfile } from "./board.js";
import { validId, ID_MAX_LENGTH } from "./messages/topics.js";
import { queueCapacity, ESP32_STORAGE_BYTES, LINUX_STORAGE_BYTES } from "./runtime/store.js";

export const FIRMWARE_VERSION = "0.1.0";
/** Storage file written by provisioning (tools/) or the simulator */
export const CONFIG_FILE = "casanode.json";

export interface BrokerConfig {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: boolean;
}

export interface NodeConfig {
  /** ids: [a-z0-9_-], used in MQTT topics */
  site: string;
  node: string;
  /** ip/gw/netmask: a static address (joins in ~0.7 s instead of ~1.6 s with DHCP); the
   *  broker must then be an IP (no DHCP, no DNS). DHCP is still used at power-on, once a day
   *  (SNTP by name) and for a day after the static address failed. */
  wifi: { ssid: string; password: string; ip?: string; gw?: string; netmask?: string };
  broker: BrokerConfig;
  /** per-node HMAC key for commands: 32 bytes as 64 hex digits */
  keyHex: string;
  /** wake and read the sensors on this grid, s */
  samplePeriodS: number;
  /** close the aggregation window on this grid, s (a multiple of samplePeriodS) */
  uploadPeriodS: number;
  /** battery: send the queue at least this often, on this grid, s (a multiple of uploadPeriodS;
   *  0 = at every window); earlier on an alarm or a significant change (thresholds) */
  sendPeriodS: number;
  /** raising one of these sends the data at once instead of at the next upload; while one is
   *  active every window goes out; binFillStep: a fill change this big since the last upload
   *  sends the window that saw it */
  thresholds: { pm25: number; binFill: number; noiseDb?: number; binFillStep?: number };
  /** readings kept for upload at most; beyond, the oldest are dropped (and counted). At most what
   *  the board's Storage holds (queueCapacity) */
  queueMax: number;
  /** streetlight position, degrees (sun schedule) */
  location: { lat: number; lon: number };
  /** local time = UTC + this, minutes: for the Lden day/evening/night split */
  tzOffsetMin: number;
  /** battery nodes wait at most this long after flushing for the round trip that proves queued
   *  commands delivered and for their acks' PUBACKs (they leave as soon as both are in) */
  lingerMs: number;
  /** give up joining Wi-Fi after this (Espruino's Wifi gives no callback while the AP is down) */
  wifiTimeoutMs: number;
  keepAliveS: number;
  /** locks the serial console (firmware/runtime/lock.ts): 8 to 20 printable ASCII characters */
  consolePassword?: string;
}

/** A development key: nodes using it print a warning. Provisioning sets a real one per node. */
export const DEV_KEY_HEX = "6361736e6f64652d6465762d6b65792d6e6f742d666f722d7573652d30303030";

/** Embedded defaults for a board: what a node boots with when no casanode.json was written. */
export function defaultConfig(board: BoardProfile): NodeConfig {
  return {
    site: "sim",
    node: (board.name + "-00").toLowerCase().replace(/[^a-z0-9_-]/g, "-"),
    wifi: { ssid: "casanode-sim", password: "casanode-sim-ap" },
    broker: { host: "127.0.0.1", port: 1883 },
    keyHex: DEV_KEY_HEX,
    samplePeriodS: 300,
    uploadPeriodS: 3600,
    sendPeriodS: 0,
    thresholds: { pm25: 55, binFill: 0.8, binFillStep: 0.1 },
    queueMax: 2000,
    location: { lat: 33.59, lon: -7.6 },
    tzOffsetMin: 0,
    lingerMs: 2500,
    wifiTimeoutMs: 20000,
    keepAliveS: 60,
  };
}

function isObj(v: any): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Layer `over` onto `base`, one level deep for nested objects (wifi, broker, thresholds...). */
export function mergeConfig(base: any, over: any): any {
  var out: any = {}, k: string;
  for (k in base) out[k] = base[k];
  if (!isObj(over)) return out;
  for (k in over) {
    if (isObj(over[k]) && isObj(out[k])) {
      var m: any = {}, j: string;
      for (j in out[k]) m[j] = out[k][j];
      for (j in over[k]) m[j] = over[k][j];
      out[k] = m;
    } else out[k] = over[k];
  }
  return out;
}

// ---- validation ----

// no {64}: Espruino's regex engine silently fails {m,n} quantifiers (measured on 2v29)
const HEX_RE = /^[0-9a-fA-F]+$/;
/** no control chars: the console lock reads a line, and a DLE-led line is a program's, never a password */
const PRINTABLE_RE = /^[\x20-\x7e]+$/;
/** shorter console passwords are refused (guessable); at most 20: Espruino's E.setPassword limit */
export const CONSOLE_PASSWORD_MIN = 8;

/** fields a config may hold, with the nested objects' fields */
const SCHEMA: { [k: string]: string[] | null } = {
  site: null, node: null, wifi: ["ssid", "password", "ip", "gw", "netmask"], broker: ["host", "port", "username", "password", "tls"],
  keyHex: null, samplePeriodS: null, uploadPeriodS: null, sendPeriodS: null, thresholds: ["pm25", "binFill", "noiseDb", "binFillStep"],
  queueMax: null, location: ["lat", "lon"], tzOffsetMin: null, lingerMs: null, wifiTimeoutMs: null,
  keepAliveS: null, consolePassword: null,
};

/** fields a secret: masked in the console and in diag */
export const SECRET_FIELDS = ["wifi.password", "broker.password", "keyHex", "consolePassword"];

function show(v: any): string {
  if (v === undefined) return "nothing";
  var s = JSON.stringify(v);
  return s.length > 40 ? s.substr(0, 37) + "..." : s;
}

function isIp(v: any): boolean {
  if (typeof v !== "string") return false;
  var p = v.split(".");
  if (p.length !== 4) return false;
  for (var i = 0; i < 4; i++) if (!/^[0-9]+$/.test(p[i]) || p[i].length > 3 || +p[i] > 255) return false;
  return true;
}

function isNum(v: any): boolean {
  return typeof v === "number" && isFinite(v);
}

/** Checks one field; pushes "<path> must be <rule>, got <value>" on failure (a secret's value is never shown). */
function check(errors: string[], path: string, v: any, ok: boolean, rule: string): void {
  if (!ok) errors.push(path + " must be " + rule + ", got " + (SECRET_FIELDS.indexOf(path) >= 0 && typeof v === "string" ? v.length + " characters" : show(v)));
}

/** `what` says the kind and unit, e.g. "a whole number of seconds"; the range is added */
function num(errors: string[], path: string, v: any, min: number, max: number, what: string, whole: boolean): void {
  check(errors, path, v, isNum(v) && v >= min && v <= max && (!whole || Math.floor(v) === v), what + " between " + min + " and " + max);
}

function str(errors: string[], path: string, v: any, min: number, max: number, what?: string): void {
  check(errors, path, v, typeof v === "string" && v.length >= min && v.length <= max,
    what || "a string of " + min + " to " + max + " characters");
}

/** Storage bytes of a board: its profile's figure, else its chip's Espruino build */
export function storageBytesOf(board: BoardProfile): number {
  return board.storageBytes || (board.chip === "linux" ? LINUX_STORAGE_BYTES : ESP32_STORAGE_BYTES);
}

/**
 * Validate a complete config (already merged over the defaults) for a board.
 * Returns every problem at once, each naming the field, the rule and the value found.
 */
export function checkConfig(c: any, board?: BoardProfile): string[] {
  var e: string[] = [];
  if (!isObj(c)) return ["config must be a JSON object, got " + show(c)];
  var k: string, j: string;
  for (k in c) {
    if (!SCHEMA.hasOwnProperty(k)) e.push("unknown field " + k + " (a typo?)");
    else if (SCHEMA[k] && isObj(c[k])) {
      for (j in c[k]) if ((SCHEMA[k] as string[]).indexOf(j) < 0) e.push("unknown field " + k + "." + j + " (a typo?)");
    } else if (SCHEMA[k]) e.push(k + " must be an object with " + (SCHEMA[k] as string[]).join(", ") + ", got " + show(c[k]));
  }
  var idRule = "1-" + ID_MAX_LENGTH + " characters of a-z 0-9 _ -";
  check(e, "site", c.site, validId(c.site), idRule);
  check(e, "node", c.node, validId(c.node), idRule);
  var w = isObj(c.wifi) ? c.wifi : {};
  str(e, "wifi.ssid", w.ssid, 1, 32);
  check(e, "wifi.password", w.password, typeof w.password === "string" && (w.password.length === 0 ||
    (w.password.length >= 8 && w.password.length <= 63)), "empty (open network) or 8 to 63 characters (WPA2)");
  var b = isObj(c.broker) ? c.broker : {};
  str(e, "broker.host", b.host, 1, 253, "a host name or IP address");
  if (w.ip !== undefined || w.gw !== undefined || w.netmask !== undefined) {
    var ipRule = "an IPv4 address (a.b.c.d) when a static address is set (all of wifi.ip, wifi.gw, wifi.netmask)";
    check(e, "wifi.ip", w.ip, isIp(w.ip), ipRule);
    check(e, "wifi.gw", w.gw, isIp(w.gw), ipRule);
    check(e, "wifi.netmask", w.netmask, isIp(w.netmask), ipRule);
    // no DHCP: no DNS server to resolve a name
    if (typeof b.host === "string") check(e, "broker.host", b.host, isIp(b.host), "an IPv4 address with a static wifi.ip (no DNS without DHCP)");
  }
  num(e, "broker.port", b.port, 1, 65535, "a whole number", true);
  if (b.username !== undefined) str(e, "broker.username", b.username, 1, 64);
  if (b.password !== undefined) str(e, "broker.password", b.password, 0, 64);
  if (b.tls !== undefined) check(e, "broker.tls", b.tls, typeof b.tls === "boolean", "true or false");
  check(e, "keyHex", c.keyHex, typeof c.keyHex === "string" && c.keyHex.length === 64 && HEX_RE.test(c.keyHex), "32 bytes as 64 hex digits");
  var n0 = e.length;
  num(e, "samplePeriodS", c.samplePeriodS, 10, 86400, "a whole number of seconds", true);
  num(e, "uploadPeriodS", c.uploadPeriodS, 60, 86400, "a whole number of seconds", true);
  if (e.length === n0 && c.uploadPeriodS % c.samplePeriodS !== 0) {
    e.push("uploadPeriodS must be a multiple of samplePeriodS (" + c.samplePeriodS + "), got " + c.uploadPeriodS);
  }
  var n1 = e.length;
  num(e, "sendPeriodS", c.sendPeriodS, 0, 7 * 86400, "0 (every window) or a whole number of seconds", true);
  if (e.length === n1 && e.length === n0 && c.sendPeriodS % c.uploadPeriodS !== 0) {
    e.push("sendPeriodS must be 0 or a multiple of uploadPeriodS (" + c.uploadPeriodS + "), got " + c.sendPeriodS);
  }
  var t = isObj(c.thresholds) ? c.thresholds : {};
  num(e, "thresholds.pm25", t.pm25, 0, 1000, "a concentration in ug/m3", false);
  num(e, "thresholds.binFill", t.binFill, 0, 1, "a fill fraction", false);
  if (t.noiseDb !== undefined) num(e, "thresholds.noiseDb", t.noiseDb, 30, 140, "a level in dB", false);
  if (t.binFillStep !== undefined) num(e, "thresholds.binFillStep", t.binFillStep, 0.01, 1, "a fill fraction", false);
  // a bound the flash cannot hold would fill it: then every later write fails
  var kb = (board ? storageBytesOf(board) : ESP32_STORAGE_BYTES) / 1024;
  num(e, "queueMax", c.queueMax, 10, queueCapacity(kb * 1024), "a whole number of readings (what " + kb + " KB of Storage holds)", true);
  var l = isObj(c.location) ? c.location : {};
  num(e, "location.lat", l.lat, -90, 90, "degrees", false);
  num(e, "location.lon", l.lon, -180, 180, "degrees", false);
  num(e, "tzOffsetMin", c.tzOffsetMin, -720, 840, "a whole number of minutes", true);
  num(e, "lingerMs", c.lingerMs, 0, 60000, "a whole number of ms", true);
  num(e, "wifiTimeoutMs", c.wifiTimeoutMs, 1000, 120000, "a whole number of ms", true);
  num(e, "keepAliveS", c.keepAliveS, 0, 3600, "a whole number of seconds", true);
  var pw = c.consolePassword;
  if (pw !== undefined) {
    check(e, "consolePassword", pw, typeof pw === "string" && pw.length >= CONSOLE_PASSWORD_MIN && pw.length <= 20 && PRINTABLE_RE.test(pw),
      CONSOLE_PASSWORD_MIN + " to 20 printable ASCII characters");
  }
  return e;
}

export type ConfigResult = { ok: true; config: NodeConfig } | { ok: false; errors: string[] };

/**
 * The validator: `raw` is the node's own config (the parsed casanode.json, or undefined for
 * none); the board's defaults are merged under it, the embedded defaults under those.
 */
export function validateConfig(raw: any, board: BoardProfile): ConfigResult {
  if (raw !== undefined && !isObj(raw)) return { ok: false, errors: ["config must be a JSON object, got " + show(raw)] };
  var c = mergeConfig(mergeConfig(defaultConfig(board), board.defaults), raw);
  var errors = checkConfig(c, board);
  return errors.length ? { ok: false, errors: errors } : { ok: true, config: c as NodeConfig };
}

/**
 * A "config" command: layer `args` on the changes made so far (`patch`) and validate the
 * result over the provisioned file (`fileRaw`). Returns the new effective config and patch.
 */
export function patchConfig(fileRaw: any, patch: any, args: any, board: BoardProfile): { ok: true; config: NodeConfig; patch: any } | { ok: false; errors: string[] } {
  var p = mergeConfig(isObj(patch) ? patch : {}, args);
  var r = validateConfig(mergeConfig(isObj(fileRaw) ? fileRaw : {}, p), board);
  return r.ok ? { ok: true, config: r.config, patch: p } : r;
}

/** A copy with secrets replaced by "***" (console, diag). */
export function maskConfig(c: any): any {
  var out = JSON.parse(JSON.stringify(c));
  for (var i = 0; i < SECRET_FIELDS.length; i++) {
    var p = SECRET_FIELDS[i].split(".");
    var o = p.length > 1 ? out[p[0]] : out;
    var key = p[p.length - 1];
    if (o && o[key] !== undefined && o[key] !== "") o[key] = "***";
  }
  return out;
}
