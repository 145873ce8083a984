// An estimate of Espruino's memory use in JsVars, for process.memory() and E.getSizeOf().
//
// Espruino keeps every value in fixed 14-byte blocks on ESP32 (16383 of them). The sizes
// below follow Espruino's src/jsutils.h for a 32-bit build with 16383 vars (JSVARREF_BITS 14):
// a string var holds 9 chars, each extension var 10 more, a property-name var 4 chars (longer
// names take extension vars); small ints and booleans sit inside the name var. Checked against
// E.getSizeOf on the fixed-16383-var Linux build (objects, arrays, strings, typed arrays).
//
// What the walk cannot see: state held only in closures (V8 does not let us enumerate a
// closure's scope cheaply), and rollup's iife bundles keep nearly everything there. So
// usage = a fixed base + a per-byte figure for the bundle (its functions and the state it
// builds at start) + a walk of what the node's globals and the emulation (timers, listeners)
// reach. The per-byte figure is calibrated on the real interpreter: the project's own bundles
// written to Storage and run with eval(require("Storage").read(..)) on the 16383-var Linux
// build used, 3 s after boot, 2456 vars (dist/linux.js, 46.9 KB) and 3352 (dist/esp32-pole.js,
// 57.9 KB): 0.051-0.057 vars a byte. On the ESP32 Storage is memory-mapped and function code
// stays in flash, so the board uses somewhat less: the estimate errs on the safe side.
// (docs/espruino-dialect.md's 2400 vars for 27 KB is the same order, on other code.)

export const ESP32_JSVARS = 16383;
export const ESP32_JSVAR_BYTES = 14;
/** process.memory().usage of a freshly booted interpreter (measured: 45 on the 16383-var build) */
export const BASE_VARS = 45;
/** vars per byte of minified bundle run from Storage, with the state it builds at boot (measured, see above) */
export const CODE_VARS_PER_BYTE = 0.054;

const STRING_FIRST_CHARS = 9; // JSVAR_DATA_STRING_LEN
const STRING_EXT_CHARS = 10; // JSVAR_DATA_STRING_MAX_LEN
const NAME_INLINE_CHARS = 4; // JSVAR_DATA_STRING_NAME_LEN on 32-bit builds
const INLINE_INT_MAX = 8191; // a name var's child field (14 bits) holds small ints
const FLAT_BLOCK_BYTES = 14;
const WALK_LIMIT = 200_000;

export function stringVars(length: number): number {
  return length <= STRING_FIRST_CHARS ? 1 : 1 + Math.ceil((length - STRING_FIRST_CHARS) / STRING_EXT_CHARS);
}

function nameVars(key: string): number {
  if (/^(0|[1-9]\d{0,8})$/.test(key)) return 1; // array index: NAME_INT
  return key.length <= NAME_INLINE_CHARS ? 1 : 1 + Math.ceil((key.length - NAME_INLINE_CHARS) / STRING_EXT_CHARS);
}

function inlineValue(v: any): boolean {
  return v === undefined || typeof v === "boolean" || (typeof v === "number" && Number.isInteger(v) && Math.abs(v) <= INLINE_INT_MAX);
}

/** counts vars of values, each object once (like Espruino's recursion flag) */
export class JsVarCounter {
  private seen = new Set<object>();
  visited = 0;
  private skip: Set<object>;

  /** objects in `skip` (the emulation's own globals) cost nothing */
  constructor(skip?: Set<object>) {
    this.skip = skip ?? new Set();
  }

  count(v: any): number {
    if (v === undefined) return 0;
    if (v === null || typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || typeof v === "symbol") return 1;
    if (typeof v === "string") return stringVars(v.length);
    if (this.seen.has(v) || this.skip.has(v)) return 0;
    if (++this.visited > WALK_LIMIT) return 0;
    this.seen.add(v);
    const tag = Object.prototype.toString.call(v);
    if (tag === "[object ArrayBuffer]") return 1 + bufferVars(v.byteLength);
    if (ArrayBuffer.isView(v)) return 1 + this.count(v.buffer);
    if (tag === "[object Date]") return 2;
    let n = 1;
    if (typeof v === "function") {
      // the code is in flash (counted with the bundle); only the function's own properties here
      for (const key of Object.getOwnPropertyNames(v)) {
        if (key === "length" || key === "name" || key === "arguments" || key === "caller") continue;
        if (key === "prototype") {
          const proto = v.prototype;
          if (proto && Object.getOwnPropertyNames(proto).length > 1) n += 1 + this.count(proto);
          continue;
        }
        n += this.prop(key, safeGet(v, key));
      }
      return n;
    }
    const keys = Array.isArray(v) ? Object.keys(v) : Object.getOwnPropertyNames(v);
    for (const key of keys) {
      if (Array.isArray(v) && key === "length") continue;
      n += this.prop(key, safeGet(v, key));
    }
    return n;
  }

  private prop(key: string, value: any): number {
    return nameVars(key) + (inlineValue(value) ? 0 : this.count(value));
  }
}

function bufferVars(bytes: number): number {
  return bytes <= STRING_FIRST_CHARS ? 1 : 1 + Math.ceil(bytes / FLAT_BLOCK_BYTES);
}

function safeGet(o: any, key: string): any {
  try {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (!d) return undefined;
    if ("value" in d) return d.value;
    return undefined; // getters: do not run firmware code while counting
  } catch {
    return undefined;
  }
}

/** E.getSizeOf(v): vars used by v and everything it holds */
export function sizeOf(v: any): number {
  return new JsVarCounter().count(v);
}

export function codeVars(bundleBytes: number): number {
  return Math.round(bundleBytes * CODE_VARS_PER_BYTE);
}

/** what a running boot holds, for its usage estimate */
export interface BootHoldings {
  bundleBytes: number;
  /** the node's global object, and the names it had before the firmware ran (the API's own) */
  global: any;
  baseline: ReadonlySet<string>;
  /** the API's own objects: not counted when the firmware's values reach them */
  skip: Set<object>;
  timers: Iterable<{ fn: any; args: any[] }>;
  listeners: Iterable<any>;
  serialListeners: number;
  watches: number;
}

/** process.memory().usage of a boot: base + code + what the firmware's globals, timers and listeners reach */
export function bootUsage(b: BootHoldings): number {
  const counter = new JsVarCounter(b.skip);
  let n = BASE_VARS + codeVars(b.bundleBytes);
  const g = b.global;
  for (const key of Object.keys(g)) {
    if (b.baseline.has(key)) continue;
    n += 1 + counter.count(ownValue(g, key));
  }
  for (const t of b.timers) n += 4 + counter.count(t.fn) + counter.count(t.args);
  for (const fn of b.listeners) n += 2 + counter.count(fn);
  n += b.serialListeners * 2;
  n += b.watches * 5;
  return n;
}

/** process.memory() for a usage: a fixed heap (ESP32), or one that grows by 4096 vars (Linux build, memoryTotal 0) */
export function memoryFigures(usage: number, memoryTotal: number): EspruinoMemory {
  const total = memoryTotal > 0 ? memoryTotal : Math.max(4096, Math.ceil((usage + 1) / 4096) * 4096);
  const m: EspruinoMemory & { gc: number; gctime: number } = { free: Math.max(0, total - usage), usage, total, history: 0, gc: 0, gctime: 0, blocksize: memoryTotal > 0 ? ESP32_JSVAR_BYTES : 27 };
  return m;
}

function ownValue(o: any, key: string): any {
  const d = Object.getOwnPropertyDescriptor(o, key);
  return d && "value" in d ? d.value : undefined;
}
