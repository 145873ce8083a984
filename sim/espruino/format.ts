// How Espruino turns values into console text: numbers (ftoa, about 11 significant digits),
// print()/console.log() and the REPL's "=value". Ported from Espruino 2v29 src/jsutils.c
// (ftoa_bounded_extra) and src/jswrap_json.c (jsfGetJSONWithCallback), so what a maintenance
// crew reads from a simulated node looks like what the board prints.

const STOP_AT_ERROR = 0.0000001;
const INT32_MIN = -2147483648;
const JSON_LIMIT_AMOUNT = 15; // arrays longer than this are shortened in the REPL
const JSON_LIMITED_AMOUNT = 5;
const JSON_LIMIT_STRING_AMOUNT = 60;
const JSON_LIMITED_STRING_AMOUNT = 27;
const JSON_ITEMS_ON_LINE_OBJECT = 4;
const JSON_LIMIT_TEXT = " ... ";

/** C's (int32_t) cast of a double as x86 does it: out of range gives INT_MIN */
function cInt(x: number): number {
  if (!(x >= INT32_MIN && x < 2147483648)) return INT32_MIN;
  return Math.trunc(x);
}

/** Espruino's number to string (integers that fit in 32 bits print exactly) */
export function espruinoNumber(val: number): string {
  if (Number.isInteger(val) && val >= INT32_MIN && val < 2147483648) return String(val === 0 ? 0 : val);
  if (Number.isNaN(val)) return "NaN";
  if (!Number.isFinite(val)) return val < 0 ? "-Infinity" : "Infinity";
  let out = "";
  if (val < 0) {
    out = "-";
    val = -val;
  }
  let exponent = 0;
  if (val > 0) {
    if (val >= 1e21) {
      while (val > 100000) {
        val /= 100000;
        exponent += 5;
      }
      while (val > 10) {
        val /= 10;
        exponent++;
      }
    } else if (val < 1e-6) {
      while (val < 1e-5) {
        val *= 100000;
        exponent -= 5;
      }
      while (val < 1) {
        val *= 10;
        exponent--;
      }
    }
  }
  // really close to an integer? use that
  if (cInt(val + STOP_AT_ERROR) === 1 + cInt(val)) val = 1 + cInt(val);
  let d = 1;
  while (d * 10 <= val) d *= 10;
  while (d >= 1) {
    const v = Math.trunc(val / d);
    val -= v * d;
    out += String.fromCharCode(48 + v);
    d /= 10;
  }
  if (val > 0) {
    out += ".";
    val *= 10;
    for (let digits = 0; digits < 11 && val > STOP_AT_ERROR; digits++) {
      let v = Math.trunc(val + 0.00000001);
      val = (val - v) * 10;
      if (v === 10) v = 9;
      out += String.fromCharCode(48 + v);
    }
  }
  if (exponent) out += "e" + (exponent > 0 ? "+" : "") + exponent;
  return out;
}

/**
 * Espruino's quoting: JSON-like escapes, other bytes below 32 or above 126 as `hexEscape`HH
 * (\xHH for %q and the REPL, \u00HH in what Storage.writeJSON writes)
 */
export function quote(s: string, hexEscape = "\\x"): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c === 8) out += "\\b";
    else if (c === 12) out += "\\f";
    else if (c < 32 || c > 126) out += hexEscape + c.toString(16).toUpperCase().padStart(2, "0");
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

export interface FormatOptions {
  /** REPL: shorten long arrays and strings */
  limit?: boolean;
  /** REPL: keys that are identifiers print without quotes */
  dropQuotes?: boolean;
}

/** keys Espruino writes without quotes */
export const ID_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function isTypedArray(v: any): boolean {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function typeName(v: any): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

function needsNewLine(v: any): boolean {
  return !(v === undefined || v === null || typeof v === "number" || typeof v === "boolean");
}

/** a value as print() shows it (strings raw at top level, the rest as Espruino's pretty JSON) */
export function formatValue(v: any, opts: FormatOptions = {}, indent = 0, seen: Set<any> = new Set()): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  switch (typeof v) {
    case "number":
      return espruinoNumber(v);
    case "boolean":
      return v ? "true" : "false";
    case "string":
      if (opts.limit && v.length > JSON_LIMIT_STRING_AMOUNT) {
        return quote(v.slice(0, JSON_LIMITED_STRING_AMOUNT)) + JSON_LIMIT_TEXT + quote(v.slice(-JSON_LIMITED_STRING_AMOUNT));
      }
      return quote(v);
    case "function":
      return "function () { [code] }";
    case "symbol":
    case "bigint":
      return String(v);
  }
  if (seen.has(v)) return JSON_LIMIT_TEXT;
  if (typeof v.name === "string" && typeof v.getInfo === "function" && /^D\d+$/.test(v.name)) return v.name; // a Pin
  seen.add(v);
  try {
    const nl = (n: number) => "\n" + "  ".repeat(n);
    if (v instanceof ArrayBuffer || typeName(v) === "ArrayBuffer") v = new Uint8Array(v);
    if (isTypedArray(v)) {
      const items = Array.prototype.map.call(v, (x: number) => espruinoNumber(x)) as string[];
      const shown = opts.limit && items.length > JSON_LIMIT_AMOUNT ? [...items.slice(0, JSON_LIMITED_AMOUNT), JSON_LIMIT_TEXT.trim(), ...items.slice(-JSON_LIMITED_AMOUNT)] : items;
      return `new ${typeName(v)}([${shown.join(", ")}])`;
    }
    if (typeName(v) === "Date" && typeof v.toString === "function") return "Date: " + v.toString();
    if (Array.isArray(v)) {
      const limited = opts.limit && v.length > JSON_LIMIT_AMOUNT;
      let out = "[ ";
      let first = true;
      let needNewLine = false;
      for (let i = 0; i < v.length; i++) {
        if (limited && i >= JSON_LIMITED_AMOUNT && i < v.length - JSON_LIMITED_AMOUNT) continue;
        if (!first) out += ", ";
        first = false;
        if (limited && i === v.length - JSON_LIMITED_AMOUNT) out += JSON_LIMIT_TEXT;
        const newNeeds = needsNewLine(v[i]);
        if (needNewLine || newNeeds) out += nl(indent + 1);
        out += formatValue(v[i], opts, indent + 1, seen);
        needNewLine = newNeeds;
      }
      if (needNewLine) out += nl(indent);
      return out + " ]";
    }
    if (v instanceof Error || (typeof v.message === "string" && typeof v.name === "string" && "stack" in v)) {
      return `${v.name}: ${v.message}`;
    }
    let out = "{ ";
    let first = true;
    let needNewLine = false;
    let sinceNewLine = 0;
    for (const key of Object.keys(v)) {
      const item = v[key];
      sinceNewLine++;
      if (!first) out += ", ";
      let newNeeds = needsNewLine(item);
      if (sinceNewLine > JSON_ITEMS_ON_LINE_OBJECT) needNewLine = true;
      if (needNewLine || newNeeds) {
        out += nl(indent + 1);
        needNewLine = false;
        sinceNewLine = 0;
      }
      out += (opts.dropQuotes && ID_RE.test(key) ? key : quote(key)) + ": ";
      first = false;
      out += formatValue(item, opts, indent + 1, seen);
      needNewLine = newNeeds;
    }
    if (needNewLine) out += nl(indent);
    return out + " }";
  } finally {
    seen.delete(v);
  }
}

/** the text print()/console.log() writes for its arguments (without the line end) */
export function formatPrint(args: ArrayLike<any>): string {
  const parts: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    parts.push(typeof a === "string" ? a : formatValue(a));
  }
  return parts.join(" ");
}

/** what "Uncaught ..." shows for a thrown value (Espruino's %v of the exception) */
export function formatThrown(e: any): string {
  if (e && typeof e === "object" && typeof e.message === "string") {
    const name = typeof e.name === "string" && e.name ? e.name : "Error";
    return `${name}: ${e.message}`;
  }
  if (typeof e === "string") return e;
  return formatValue(e);
}
