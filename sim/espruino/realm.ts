// The node's own JavaScript realm: what a fresh vm context gets before the firmware runs
// (built-ins Espruino lacks refused, Date on the node's RTC and E.setTimeZone, eval reading
// pretokenised code), and the script that drains its microtask queue.

import vm from "node:vm";
import { REFUSE_SOURCE } from "../../toolchain/espruino-dialect.js";
import { untokenise } from "../../toolchain/pretokenise.mjs";

/** the context's own constructors: values handed to the firmware are made with these */
export interface Realm {
  global: any;
  Error: ErrorConstructor;
  TypeError: ErrorConstructor;
  SyntaxError: ErrorConstructor;
  ReferenceError: ErrorConstructor;
  Object: ObjectConstructor;
  Array: ArrayConstructor;
  ArrayBuffer: ArrayBufferConstructor;
  Uint8Array: Uint8ArrayConstructor;
  JSON: JSON;
  Promise: PromiseConstructor;
}

// compiled once, run in every context
const DRAIN = new vm.Script("", { filename: "espruino-drain" });
const INIT = new vm.Script(
  `(function (bridge) {
  "use strict";
  var RealDate = globalThis.Date, UTC = RealDate.UTC, P = RealDate.prototype;
  var getT = P.getTime, setT = P.setTime;
  var keys = ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"];
  var ug = {}, us = {};
  keys.forEach(function (k) { ug[k] = P["getUTC" + k]; if (k !== "Day") us[k] = P["setUTC" + k]; });
  var parse = RealDate.parse;
  (${REFUSE_SOURCE})(globalThis);
  delete RealDate.UTC;
  function parseLocal(s) {
    if (/^\\d{4}-\\d\\d-\\d\\d(T\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?)?$/.test(s)) return parse(s.length === 10 ? s + "T00:00:00Z" : s + "Z") - bridge.tz();
    return parse(s);
  }
  class Date extends RealDate {
    constructor(a, b, c, d, e, f, g) {
      var n = arguments.length;
      if (n === 0) super(bridge.now());
      else if (n === 1) super(typeof a === "string" ? parseLocal(a) : (a instanceof RealDate ? getT.call(a) : a));
      else super(UTC(a, b, c === undefined ? 1 : c, d || 0, e || 0, f || 0, g || 0) - bridge.tz());
    }
    static now() { return bridge.now(); }
    static parse(s) { return parseLocal(String(s)); }
  }
  var DP = Date.prototype;
  keys.forEach(function (k) {
    DP["get" + k] = function () { return ug[k].call(new RealDate(getT.call(this) + bridge.tz())); };
    if (us[k]) DP["set" + k] = function () {
      var d = new RealDate(getT.call(this) + bridge.tz());
      us[k].apply(d, arguments);
      return setT.call(this, getT.call(d) - bridge.tz());
    };
  });
  DP.getTimezoneOffset = function () { return -bridge.tz() / 60000; };
  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function p2(n) { return (n < 10 ? "0" : "") + n; }
  DP.toString = function () {
    var tz = bridge.tz(), d = new RealDate(getT.call(this) + tz), m = Math.abs(tz / 60000);
    return DAYS[ug.Day.call(d)] + " " + MONTHS[ug.Month.call(d)] + " " + ug.Date.call(d) + " " + ug.FullYear.call(d) + " " +
      p2(ug.Hours.call(d)) + ":" + p2(ug.Minutes.call(d)) + ":" + p2(ug.Seconds.call(d)) +
      " GMT" + (tz < 0 ? "-" : "+") + p2(Math.floor(m / 60)) + p2(m % 60);
  };
  globalThis.Date = Date;
  globalThis.global = globalThis;
  // Espruino's lexer reads pretokenised code anywhere, eval included (the OTA selector evals a
  // slot's image); the firmware only evals at the top level, so a global eval is the same
  var realEval = globalThis.eval;
  globalThis.eval = function (code) { return realEval(typeof code === "string" ? bridge.evaluated(code) : code); };
})`,
  { filename: "espruino-init" },
);

export interface RealmBridge {
  now(): number;
  tz(): number;
  evaluated?(code: string): void;
}

/** a context in use by one boot */
export interface RealmLease {
  ctx: vm.Context;
  realm: Realm;
  /** the object behind the context's globals: the API is installed on it */
  sandbox: any;
  /** the boot ran code that may leave what a scrub cannot undo: the context is not used again */
  tainted: boolean;
  /** names an earlier boot's code declared (var, function), left set to undefined: not the API's */
  leftovers: Set<string>;
}

/** what a context held after its set-up, to put it back that way for the next boot */
interface Pristine {
  lease: RealmLease;
  /** the boot code every boot that gets this context runs */
  key: string;
  /** the bridge INIT's closures read: re-pointed at each boot */
  bridge: Required<RealmBridge>;
  /** the realm's own globals (built-ins, and Date, global and eval as set up) and their values */
  globals: Map<string, unknown>;
  globalProto: unknown;
  globalSymbols: number;
  /** every own property of each built-in object, as after set-up */
  builtins: Array<{ obj: any; keys: Array<string | symbol>; values: unknown[]; proto: unknown }>;
  mathRandom: unknown;
}

/** contexts made, reused, scrubbed and dropped (changed beyond a scrub, not poolable, no room), this process */
export const realmStats = { made: 0, reused: 0, scrubbed: 0, dropped: 0 };
const pristine = new WeakMap<RealmLease, Pristine>();
/** scrubbed contexts by the boot code they ran, and all of them oldest first (evicted first) */
const pool = new Map<string, Pristine[]>();
const pooledOldestFirst = new Set<Pristine>();
/**
 * Boots of nodes that wake at one instant all end before the host's loop turns, so the pool
 * must hold a burst: 16 covered a fifth of 100 nodes' wakes, 128 all of them. A pooled context
 * holds about 1 MB (a new one 270 KB): 1,000 nodes for 20 min peaked at 1,317 MB, 1,198 without.
 */
const POOL_MAX = 128;
/** ended boots' contexts, pooled after the host's event loop has turned (see releaseRealm) */
const quarantine: Pristine[] = [];
let quarantineScheduled = false;
/** scripts known to declare no top-level let, const or class: those outlive any scrub */
const vetted = new WeakSet<vm.Script>();

/** `script` is `program`'s code: mark it safe for a reused context if its top level declares no lexical globals */
export function vetScript(script: vm.Script, program: { body: Array<{ type: string; kind?: string }> } | undefined): vm.Script {
  if (program && !program.body.some((n) => n.type === "ClassDeclaration" || (n.type === "VariableDeclaration" && n.kind !== "var"))) vetted.add(script);
  return script;
}

export function isVetted(script: vm.Script): boolean {
  return vetted.has(script);
}

/**
 * A context for one boot, with the API `install` puts on its globals and Date on `bridge.now`
 * (epoch ms) and `bridge.tz` (ms east of UTC). Making a context costs about a millisecond, and
 * a battery node makes one at every wake; so a context a boot of the same code (`key`, the boot
 * image) left is reused, once put back as it was made (releaseRealm). The chip does not matter:
 * the API is put on afresh. What differs can only be seen before that code runs: the names its
 * top level declared with var or function (a context's global keeps those for good) exist, set
 * to undefined, until it declares them again.
 * Without a key the context is used once.
 */
export function acquireRealm(id: string, bridge: RealmBridge, install: (sandbox: any) => void, key?: string): RealmLease {
  const p = key === undefined ? undefined : pool.get(key)?.pop();
  if (p) {
    pooledOldestFirst.delete(p);
    realmStats.reused++;
    install(p.lease.sandbox);
    Object.assign(p.bridge, bridgeOf(bridge));
    return p.lease;
  }
  realmStats.made++;
  const sandbox: any = {};
  install(sandbox);
  const apiKeys = new Set(Object.keys(sandbox));
  const b = bridgeOf(bridge);
  const { ctx, realm } = createRealm(sandbox, id, b);
  const lease: RealmLease = { ctx, realm, sandbox, tainted: false, leftovers: new Set() };
  if (key !== undefined) pristine.set(lease, { lease, key, bridge: b, ...snapshot(realm.global, apiKeys) });
  return lease;
}

/**
 * The boot that held `lease` has ended. Its context is pooled only after the host's event loop
 * has turned: a rejection of the boot's promises is reported in that turn, while no boot owns
 * the realm (dropped, as for any dead boot), never to the next boot that gets it. It is then
 * drained, its globals put back, and its built-ins checked: a boot that changed one (a
 * prototype, Math, JSON...) leaves a context no other boot gets.
 */
export function releaseRealm(lease: RealmLease): void {
  const p = pristine.get(lease);
  if (!p || lease.tainted) {
    realmStats.dropped++;
    return;
  }
  // a burst of boots ends before the host turns: hold no more than the pool takes, making
  // room by dropping the oldest pooled context (an image no node runs any more goes first)
  if (pooledOldestFirst.size + quarantine.length >= POOL_MAX) {
    const oldest = pooledOldestFirst.values().next().value;
    if (!oldest) {
      realmStats.dropped++;
      return;
    }
    unpool(oldest);
    realmStats.dropped++;
  }
  quarantine.push(p);
  if (quarantineScheduled) return;
  quarantineScheduled = true;
  setImmediate(() => {
    quarantineScheduled = false;
    for (const q of quarantine.splice(0)) {
      if (!scrub(q)) {
        realmStats.dropped++;
        continue;
      }
      let list = pool.get(q.key);
      if (!list) pool.set(q.key, (list = []));
      list.push(q);
      pooledOldestFirst.add(q);
    }
  });
}

function unpool(p: Pristine): void {
  pooledOldestFirst.delete(p);
  const list = pool.get(p.key)!;
  list.splice(list.indexOf(p), 1);
  if (!list.length) pool.delete(p.key);
}

function bridgeOf(b: RealmBridge): Required<RealmBridge> {
  return { now: b.now, tz: b.tz, evaluated: b.evaluated ?? (() => {}) };
}

function snapshot(g: any, apiKeys: Set<string>): Pick<Pristine, "globals" | "globalProto" | "globalSymbols" | "builtins" | "mathRandom"> {
  const seen = new Set<unknown>();
  const builtins: Pristine["builtins"] = [];
  const add = (obj: any) => {
    if (!obj || (typeof obj !== "object" && typeof obj !== "function") || seen.has(obj)) return;
    seen.add(obj);
    const keys = Reflect.ownKeys(obj);
    builtins.push({ obj, keys, values: keys.map((k) => ownValue(obj, k)), proto: Object.getPrototypeOf(obj) });
  };
  const globals = new Map<string, unknown>();
  seen.add(g); // `global` is the global object: its own properties are checked by name
  add(g.Object.prototype);
  add(g.Function.prototype);
  add(Object.getPrototypeOf(g.Uint8Array));
  add(Object.getPrototypeOf(g.Uint8Array.prototype));
  for (const k of Object.getOwnPropertyNames(g)) {
    if (apiKeys.has(k)) continue;
    const v = ownValue(g, k);
    globals.set(k, v);
    add(v);
    if (typeof v === "function") add((v as any).prototype);
  }
  return { globals, globalProto: Object.getPrototypeOf(g), globalSymbols: Object.getOwnPropertySymbols(g).length, builtins, mathRandom: g.Math.random };
}

const NO_PROPERTY = Symbol("none");

/** a data property's value, an accessor's [getter, setter] (a prototype's getter may throw), or NO_PROPERTY */
function ownValue(obj: any, k: string | symbol): unknown {
  const d = Reflect.getOwnPropertyDescriptor(obj, k);
  return !d ? NO_PROPERTY : "value" in d ? d.value : [d.get, d.set];
}

function sameValue(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) ? a[0] === b[0] && a[1] === b[1] : a === b || (a !== a && b !== b);
}

/** put a used context back as set-up left it; false if it cannot be (it is then dropped) */
function scrub(p: Pristine): boolean {
  realmStats.scrubbed++;
  const { lease } = p;
  try {
    drainMicrotasks(lease.ctx); // the dead boot's last callbacks: its API refuses them
  } catch {
    return false;
  }
  if (lease.tainted) return false;
  const g = lease.realm.global;
  for (const k of Object.getOwnPropertyNames(g)) {
    if (p.globals.has(k)) continue;
    // the API, and what the boot put on its global; a var or function its code declared stays
    if (Reflect.deleteProperty(g, k)) continue;
    if (!Reflect.set(g, k, undefined) || ownValue(g, k) !== undefined) return false;
    lease.leftovers.add(k);
  }
  g.Math.random = p.mathRandom; // each boot sets its own
  if (Object.getPrototypeOf(g) !== p.globalProto || Object.getOwnPropertySymbols(g).length !== p.globalSymbols) return false;
  for (const [k, v] of p.globals) if (!sameValue(ownValue(g, k), v)) return false;
  for (const b of p.builtins) {
    if (Object.getPrototypeOf(b.obj) !== b.proto || !Object.isExtensible(b.obj)) return false;
    const keys = Reflect.ownKeys(b.obj);
    if (keys.length !== b.keys.length) return false;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== b.keys[i] || !sameValue(ownValue(b.obj, keys[i]), b.values[i])) return false;
  }
  return true;
}

/** a context over `sandbox` (the globals), with Date on `bridge.now` (epoch ms) and `bridge.tz` (ms east of UTC) */
export function createRealm(sandbox: object, id: string, bridge: RealmBridge): { ctx: vm.Context; realm: Realm } {
  const ctx = vm.createContext(sandbox, { name: `espruino:${id}`, microtaskMode: "afterEvaluate", codeGeneration: { strings: true, wasm: false } });
  // eval's code: priced as the lexing it is, then read as the source it stands for. The
  // bridge is read at each call: a reused context's is re-pointed at its new boot
  const evaluated = (code: string) => {
    bridge.evaluated?.(code);
    return untokenise(code);
  };
  INIT.runInContext(ctx)({ now: () => bridge.now(), tz: () => bridge.tz(), evaluated });
  const g = vm.runInContext("globalThis", ctx);
  const realm: Realm = {
    global: g,
    Error: g.Error,
    TypeError: g.TypeError,
    SyntaxError: g.SyntaxError,
    ReferenceError: g.ReferenceError,
    Object: g.Object,
    Array: g.Array,
    ArrayBuffer: g.ArrayBuffer,
    Uint8Array: g.Uint8Array,
    JSON: g.JSON,
    Promise: g.Promise,
  };
  return { ctx, realm };
}

/** run the promise callbacks queued in the context (microtaskMode "afterEvaluate" runs them after any script) */
export function drainMicrotasks(ctx: vm.Context): void {
  DRAIN.runInContext(ctx);
}
