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

/** a context over `sandbox` (the globals), with Date on `bridge.now` (epoch ms) and `bridge.tz` (ms east of UTC) */
export function createRealm(sandbox: object, id: string, bridge: { now(): number; tz(): number; evaluated?(code: string): void }): { ctx: vm.Context; realm: Realm } {
  const ctx = vm.createContext(sandbox, { name: `espruino:${id}`, microtaskMode: "afterEvaluate", codeGeneration: { strings: true, wasm: false } });
  const priced = bridge.evaluated ?? (() => {});
  // eval's code: priced as the lexing it is, then read as the source it stands for
  const evaluated = (code: string) => {
    priced(code);
    return untokenise(code);
  };
  INIT.runInContext(ctx)({ now: bridge.now, tz: bridge.tz, evaluated });
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
