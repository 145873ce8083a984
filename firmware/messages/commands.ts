// Downlink commands (topic cmd) and their results (topic ack).
//
// A command is JSON:
//   {"id":"c-17","cmd":"relay","args":{"state":"on","expiresS":600},"ctr":1768435235000,"ts":1768435235,"ttl":600,"mac":"<64 hex>"}
//   id    1-32 chars of [A-Za-z0-9._-], echoed in the ack
//   cmd   "relay" | "config" | "diag" | "reboot"
//   args  object (may be {}), at most 4 levels deep
//   ctr   integer 1..2^53-1, strictly increasing per node (a replay is refused); the CLI uses
//         Unix time in ms. Past 2^31 it is a double on Espruino, exact to 2^53, and printed
//         with all its digits (ftoa writes the integer part digit by digit)
//   ts    issue time, Unix seconds (integer)
//   ttl   validity in seconds after ts, 1..604800; a node with a set clock refuses a command
//         outside [ts - MAX_SKEW_S, ts + ttl] as "expired" (a relay override with expiresS also
//         ends at ts + expiresS); a node without a clock goes by the counter alone
//   mac   HMAC-SHA256 with the node's key, hex, over the canonical string
//            nodeId "\n" ctr "\n" ts "\n" ttl "\n" id "\n" cmd "\n" canonicalJson(args)
// canonicalJson is JSON with object keys sorted (code-unit order), no spaces, strings of
// printable ASCII only, and numbers written from their value in micro-units: integers as
// digits, fractions with up to 6 decimals and no trailing zeros ("0.5", "-12.25"); any
// other value (longer fractions, |n| >= 1e9) makes the command malformed. Not plain
// JSON.stringify: Espruino and Node differ on key order (V8 moves integer-like keys first)
// and on number and escape formats, and the node recomputes the string from what it parsed.
//
// Checks run cheapest and safest first: size (before JSON.parse), shape, MAC, counter,
// validity, command name, args. Nothing here throws on input.

import { Sha256, hmacSha256, toHex, fromHex, equalConstantTime } from "../crypto/hmac.js";

export const MAX_COMMAND_BYTES = 512;
/** deepest nesting of [ and { accepted before JSON.parse (recursion on a small stack) */
const MAX_NESTING = 6;
/** 2^53 - 1: the largest integer a double holds exactly (Espruino has no Number.MAX_SAFE_INTEGER) */
export const MAX_CTR = 9007199254740991;
/** longest validity: a battery node may upload only weekly (uploadPeriodS <= 604800) */
export const MAX_TTL_S = 604800;
/** the back office's validity when it does not say */
export const DEFAULT_TTL_S = 3600;
/** how far in the future an issue time may be (clock skew between back office and node) */
export const MAX_SKEW_S = 300;

export type CommandName = "relay" | "config" | "diag" | "reboot";
export const COMMAND_NAMES: CommandName[] = ["relay", "config", "diag", "reboot"];
export type CommandError = "malformed" | "too-large" | "bad-mac" | "replay" | "expired" | "unknown-command" | "bad-args";

export interface RelayArgs {
  state: "on" | "off" | "auto";
  /** override ends after this many seconds, back to "auto" */
  expiresS?: number;
}

export interface ConfigArgs {
  samplePeriodS?: number;
  uploadPeriodS?: number;
  /** pm25 in ug/m3, binFill as a fraction 0..1 */
  thresholds?: { pm25?: number; binFill?: number };
}

export interface Command {
  id: string;
  cmd: CommandName;
  args: any;
  ctr: number;
  /** issued at, Unix s */
  ts: number;
  /** valid for, s after ts */
  ttl: number;
}

export type VerifyResult =
  | { ok: true; cmd: Command }
  /** id when it was well formed; ctr when the MAC was good (the caller may then advance its counter) */
  | { ok: false; error: CommandError; detail: string; id?: string; ctr?: number };

/** [min, max] accepted by the config command */
export const CONFIG_LIMITS = {
  samplePeriodS: [10, 86400],
  uploadPeriodS: [60, 604800],
  pm25: [0, 1000],
  binFill: [0, 1],
  expiresS: [1, 86400],
};

const PRINTABLE = /^[\x20-\x7e]*$/;

function canonNumber(n: number): string | null {
  var a = Math.abs(n);
  if (!isFinite(n) || a >= 1e9) return null;
  var m = Math.round(a * 1e6);
  // tolerance: a parser may land one ulp away from the decimal it read
  if (Math.abs(m / 1e6 - a) > 1e-9) return null;
  var whole = Math.floor(m / 1e6), frac = m - whole * 1e6;
  var s = (n < 0 && m ? "-" : "") + whole;
  return frac ? s + "." + ("" + (1e6 + frac)).substring(1).replace(/0+$/, "") : s;
}

/** The canonical JSON described above, or null if `v` has no canonical form. */
export function canonicalJson(v: any, depth?: number): string | null {
  var d = depth || 0, parts: string[] = [], i: number, s: string | null, keys: string[];
  if (typeof v === "string") return PRINTABLE.test(v) ? JSON.stringify(v) : null;
  if (typeof v === "number") return canonNumber(v);
  if (v === null || v === true || v === false) return "" + v;
  if (typeof v !== "object" || d >= 4) return null;
  if (Array.isArray(v)) {
    for (i = 0; i < v.length; i++) {
      if ((s = canonicalJson(v[i], d + 1)) === null) return null;
      parts.push(s);
    }
    return "[" + parts.join(",") + "]";
  }
  keys = Object.keys(v).sort();
  for (i = 0; i < keys.length; i++) {
    if (!PRINTABLE.test(keys[i]) || (s = canonicalJson(v[keys[i]], d + 1)) === null) return null;
    parts.push(JSON.stringify(keys[i]) + ":" + s);
  }
  return "{" + parts.join(",") + "}";
}

/** The string the MAC covers; null if args have no canonical form. */
export function commandString(nodeId: string, c: { ctr: number; ts: number; ttl: number; id: string; cmd: string; args: any }): string | null {
  var a = canonicalJson(c.args);
  return a === null ? null : nodeId + "\n" + c.ctr + "\n" + c.ts + "\n" + c.ttl + "\n" + c.id + "\n" + c.cmd + "\n" + a;
}

/**
 * Host side (tools, tests, simulator): the JSON payload of a signed command. Throws on bad
 * input. `valid` defaults to issued now (this host's clock) for DEFAULT_TTL_S, or for a
 * relay override with expiresS, for as long as the override lasts.
 */
export function signCommand(nodeId: string, keyHex: string, ctr: number, id: string, cmd: string, args: any, sha256: Sha256, valid?: { ts?: number; ttl?: number }): string {
  var v = valid || {}, ts = v.ts !== undefined ? v.ts : Math.floor(Date.now() / 1000);
  var ttl = v.ttl !== undefined ? v.ttl : cmd === "relay" && args && inRange(args.expiresS, CONFIG_LIMITS.expiresS, true) ? args.expiresS : DEFAULT_TTL_S;
  var c = { id: id, cmd: cmd, args: args, ctr: ctr, ts: ts, ttl: ttl };
  var key = fromHex(keyHex), s = commandString(nodeId, c);
  if (!key) throw new Error("key must be hex");
  if (s === null) throw new Error("args have no canonical form");
  return JSON.stringify({ id: id, cmd: cmd, args: args, ctr: ctr, ts: ts, ttl: ttl, mac: toHex(hmacSha256(sha256, key, s)) });
}

function nestingTooDeep(s: string): boolean {
  var depth = 0, inStr = false, c: string;
  for (var i = 0; i < s.length; i++) {
    c = s.charAt(i);
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === "{" || c === "[") {
      if (++depth > MAX_NESTING) return true;
    } else if (c === "}" || c === "]") depth--;
  }
  return false;
}

function isObject(v: any): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function inRange(v: any, r: number[], integer: boolean): boolean {
  return typeof v === "number" && isFinite(v) && v >= r[0] && v <= r[1] && (!integer || v === Math.floor(v));
}

/** first key of o not in allowed, or null */
function extraKey(o: any, allowed: string[]): string | null {
  for (var k in o) if (allowed.indexOf(k) < 0) return k;
  return null;
}

/** Why args are unacceptable for cmd, or null. */
export function argsError(cmd: CommandName, a: any): string | null {
  var k: string | null, L = CONFIG_LIMITS, t: any;
  if (cmd === "relay") {
    if ((k = extraKey(a, ["state", "expiresS"]))) return "unknown arg " + k;
    if (a.state !== "on" && a.state !== "off" && a.state !== "auto") return "state must be on, off or auto";
    if (a.expiresS !== undefined && !inRange(a.expiresS, L.expiresS, true)) return "expiresS must be an integer 1..86400";
    return null;
  }
  if (cmd === "config") {
    if ((k = extraKey(a, ["samplePeriodS", "uploadPeriodS", "thresholds"]))) return "unknown arg " + k;
    if (a.samplePeriodS === undefined && a.uploadPeriodS === undefined && a.thresholds === undefined) return "nothing to change";
    if (a.samplePeriodS !== undefined && !inRange(a.samplePeriodS, L.samplePeriodS, true)) return "samplePeriodS must be an integer 10..86400";
    if (a.uploadPeriodS !== undefined && !inRange(a.uploadPeriodS, L.uploadPeriodS, true)) return "uploadPeriodS must be an integer 60..604800";
    if ((t = a.thresholds) !== undefined) {
      if (!isObject(t)) return "thresholds must be an object";
      if ((k = extraKey(t, ["pm25", "binFill"]))) return "unknown threshold " + k;
      if (t.pm25 !== undefined && !inRange(t.pm25, L.pm25, false)) return "thresholds.pm25 must be 0..1000 ug/m3";
      if (t.binFill !== undefined && !inRange(t.binFill, L.binFill, false)) return "thresholds.binFill must be 0..1";
    }
    return null;
  }
  return (k = extraKey(a, [])) ? "unknown arg " + k : null;
}

/** a string of 1..maxLength chars, all matching re (no {m,n} in the regex: Espruino silently fails it) */
function token(v: any, re: RegExp, maxLength: number): boolean {
  return typeof v === "string" && v.length <= maxLength && re.test(v);
}

function fail(error: CommandError, detail: string, id?: string, ctr?: number): VerifyResult {
  return { ok: false, error: error, detail: detail, id: id, ctr: ctr };
}

/** Why a command issued at ts (s) for ttl s is stale or early at nowS, or null. */
export function expiryError(c: { cmd: string; args: any; ts: number; ttl: number }, nowS: number): string | null {
  var age = Math.floor(nowS - c.ts), end = c.ts + c.ttl, a = c.args;
  // a relay override ends at ts + expiresS: delivered later, there is nothing left to do
  if (c.cmd === "relay" && a && typeof a.expiresS === "number" && c.ts + a.expiresS < end) end = c.ts + a.expiresS;
  if (c.ts > nowS + MAX_SKEW_S) return "issued " + -age + " s in the future (clock skew?)";
  if (nowS > end) return "issued " + age + " s ago, valid " + (end - c.ts) + " s";
  return null;
}

/**
 * Check a command payload for this node. lastCtr is the highest counter accepted so far
 * (persist cmd.ctr after acting on it). nowMs: the node's time, 0 when its clock is not set
 * (then validity is not checked and the counter alone decides). Never throws.
 */
export function verifyCommand(payload: any, nodeId: string, keyHex: string, lastCtr: number, sha256: Sha256, nowMs?: number): VerifyResult {
  var m: any, id: string | undefined, s: string | null, key: string | null;
  if (typeof payload !== "string") return fail("malformed", "not text");
  if (payload.length > MAX_COMMAND_BYTES) return fail("too-large", payload.length + " > " + MAX_COMMAND_BYTES + " bytes");
  if (nestingTooDeep(payload)) return fail("malformed", "nested too deep");
  try {
    m = JSON.parse(payload);
  } catch (e) {
    return fail("malformed", "not JSON");
  }
  if (!isObject(m)) return fail("malformed", "not an object");
  if (!token(m.id, /^[A-Za-z0-9._-]+$/, 32)) return fail("malformed", "bad id");
  id = m.id;
  if (!token(m.cmd, /^[a-z0-9_-]+$/, 16)) return fail("malformed", "bad cmd", id);
  if (!inRange(m.ctr, [1, MAX_CTR], true)) return fail("malformed", "bad ctr", id);
  if (!inRange(m.ts, [0, MAX_CTR], true)) return fail("malformed", "bad ts (issue time, Unix s)", id);
  if (!inRange(m.ttl, [1, MAX_TTL_S], true)) return fail("malformed", "bad ttl (validity, 1.." + MAX_TTL_S + " s)", id);
  if (!token(m.mac, /^[0-9a-fA-F]+$/, 64) || m.mac.length !== 64) return fail("malformed", "bad mac field", id);
  if (!isObject(m.args)) return fail("malformed", "args must be an object", id);
  if ((s = commandString(nodeId, m)) === null) return fail("malformed", "args not canonical", id);
  if (!(key = fromHex(keyHex)) || !key.length) return fail("bad-mac", "node has no key", id);
  if (!equalConstantTime(toHex(hmacSha256(sha256, key, s)), m.mac.toLowerCase())) return fail("bad-mac", "mac mismatch", id);
  if (m.ctr <= lastCtr) return fail("replay", "ctr " + m.ctr + " <= " + lastCtr, id, m.ctr);
  if (nowMs && (s = expiryError(m, nowMs / 1000))) return fail("expired", s, id, m.ctr);
  if (COMMAND_NAMES.indexOf(m.cmd) < 0) return fail("unknown-command", m.cmd, id, m.ctr);
  if ((s = argsError(m.cmd, m.args))) return fail("bad-args", s, id, m.ctr);
  return { ok: true, cmd: { id: m.id, cmd: m.cmd, args: m.args, ctr: m.ctr, ts: m.ts, ttl: m.ttl } };
}

/** JSON for the ack topic */
export function ackMessage(id: string, ok: boolean, error?: string, detail?: string): string {
  var o: any = { id: id, ok: ok };
  if (error) o.error = error;
  if (detail) o.detail = detail;
  return JSON.stringify(o);
}
