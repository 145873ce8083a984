// The config validator: every rule a node's config must keep. The provisioning tool and the
// simulator use it on the host (through config.ts); in a bundle it is part of the commands'
// code (a string evaluated when needed), as a node checks its config only when it changed
// since it last passed (node.ts). Firmware code: ES5, Espruino subset.

import type { BoardProfile } from "./board.js";
import type { NodeConfig } from "./config.js";
import { CONSOLE_PASSWORD_MIN, SECRET_FIELDS, storageBytesOf, isObj, layeredConfig, mergeConfig } from "./config.js";
import { validId, ID_MAX_LENGTH } from "./messages/topics.js";
import { queueCapacity, ESP32_STORAGE_BYTES } from "./runtime/store.js";


// no {64}: Espruino's regex engine silently fails {m,n} quantifiers (measured on 2v29)
const HEX_RE = /^[0-9a-fA-F]+$/;
/** no control chars: the console lock reads a line, and a DLE-led line is a program's, never a password */
const PRINTABLE_RE = /^[\x20-\x7e]+$/;

/** fields a config may hold, with the nested objects' fields */
const SCHEMA: { [k: string]: string[] | null } = {
  site: null, node: null, wifi: ["ssid", "password", "ip", "gw", "netmask"], broker: ["host", "port", "username", "password", "tls"],
  keyHex: null, samplePeriodS: null, uploadPeriodS: null, sendPeriodS: null, thresholds: ["pm25", "binFill", "noiseDb", "binFillStep"],
  queueMax: null, location: ["lat", "lon"], tzOffsetMin: null, lingerMs: null, wifiTimeoutMs: null,
  keepAliveS: null, consolePassword: null, ntp: null,
};


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
  if (c.ntp !== undefined) {
    var hp = typeof c.ntp === "string" ? c.ntp.split(":") : [];
    check(e, "ntp", c.ntp, hp.length > 0 && hp.length < 3 && /^[A-Za-z0-9.-]+$/.test(hp[0]) && hp[0].length <= 253 &&
      (hp.length < 2 || (/^[0-9]+$/.test(hp[1]) && +hp[1] >= 1 && +hp[1] <= 65535)), "an NTP server: a host name or IPv4 address, \":port\" optional");
  }
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
  var c = layeredConfig(raw, board);
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

/**
 * The console password of a refused casanode.json: its own field if it is a usable string, else
 * dug out of text that is not JSON. Espruino's limit (20 chars) is kept; the 8-char minimum of a
 * valid config is not, so a file refused for a short password still locks with it.
 */
export function refusedPassword(raw: any, text: string): string | undefined {
  var pw = raw && typeof raw === "object" ? raw.consolePassword : undefined;
  if (pw === undefined && !raw && text) {
    var m = /"consolePassword"\s*:\s*"([^"\\]+)"/.exec(text);
    if (m) pw = m[1];
  }
  return typeof pw === "string" && pw.length > 0 && pw.length <= 20 ? pw : undefined;
}
