// Espruino's two JSON dialects that differ from V8's:
// - Storage.writeJSON writes compact JS, not JSON: keys that are identifiers lose their quotes
//   and numbers have Espruino's ~11 significant digits ({a:"x",n:0.33333333333}); measured on
//   2v29: JSON.parse() of such a file throws, only Storage.readJSON reads it back;
// - Storage.readJSON parses liberally (unquoted keys, '...' strings, \xHH escapes).

import { espruinoNumber, quote, ID_RE } from "./format.js";

const jsonString = (s: string) => quote(s, "\\u00");

/** what Storage.writeJSON puts in the file */
export function storageJson(v: any, seen: Set<any> = new Set()): string {
  if (v === undefined || v === null || typeof v === "function" || typeof v === "symbol") return "null";
  if (typeof v === "number") return Number.isFinite(v) ? espruinoNumber(v) : "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return jsonString(v);
  if (typeof v === "bigint") return String(v);
  if (typeof v.toJSON === "function") return storageJson(v.toJSON(), seen);
  if (seen.has(v)) throw new TypeError("Converting circular structure to JSON");
  seen.add(v);
  try {
    if (Object.prototype.toString.call(v) === "[object ArrayBuffer]") v = new Uint8Array(v);
    if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
      const items: string[] = [];
      const list = v as ArrayLike<any>;
      for (let i = 0; i < list.length; i++) items.push(storageJson(list[i], seen));
      return "[" + items.join(",") + "]";
    }
    const parts: string[] = [];
    for (const k of Object.keys(v)) {
      const item = v[k];
      if (item === undefined || typeof item === "function") continue;
      parts.push((ID_RE.test(k) ? k : jsonString(k)) + ":" + storageJson(item, seen));
    }
    return "{" + parts.join(",") + "}";
  } finally {
    seen.delete(v);
  }
}

/**
 * Turn Espruino's liberal JSON into strict JSON text (then JSON.parse it in whichever realm the
 * result must belong to). Throws SyntaxError on anything else, like readJSON does.
 */
export function liberalJson(text: string): string {
  let i = 0;
  let out = "";
  const n = text.length;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${i}`);
  };
  const ws = () => {
    while (i < n && /\s/.test(text[i])) i++;
  };
  const str = () => {
    const q = text[i++];
    let s = "";
    while (i < n && text[i] !== q) {
      let c = text[i++];
      if (c === "\\") {
        const e = text[i++];
        if (e === "x") {
          c = String.fromCharCode(parseInt(text.slice(i, i + 2), 16));
          i += 2;
        } else if (e === "u") {
          c = String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
          i += 4;
        } else c = ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v", "0": "\0" } as Record<string, string>)[e] ?? e;
      }
      s += c;
    }
    if (i >= n) fail("Unterminated string");
    i++;
    return JSON.stringify(s);
  };
  // "{...}" or "[...]": members between commas, copied out as JSON
  const sequence = (close: string, member: () => void): void => {
    out += text[i++];
    ws();
    if (text[i] === close) {
      i++;
      out += close;
      return;
    }
    for (;;) {
      member();
      ws();
      if (text[i] === ",") {
        i++;
        out += ",";
        continue;
      }
      if (text[i] === close) {
        i++;
        out += close;
        return;
      }
      fail(`Expected ',' or '${close}'`);
    }
  };
  const keyValue = (): void => {
    ws();
    if (text[i] === '"' || text[i] === "'") out += str();
    else {
      const m = /^[A-Za-z_$0-9][A-Za-z0-9_$]*/.exec(text.slice(i, i + 256));
      if (!m) fail("Expected a key");
      out += JSON.stringify(m![0]);
      i += m![0].length;
    }
    ws();
    if (text[i] !== ":") fail("Got EOF expected ':'");
    i++;
    out += ":";
    value();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === undefined) fail("Got EOF expected a value");
    if (c === "{") return sequence("}", keyValue);
    if (c === "[") return sequence("]", value);
    if (c === '"' || c === "'") {
      out += str();
      return;
    }
    const m = /^(-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|true|false|null|undefined|NaN|-?Infinity)/.exec(text.slice(i, i + 64));
    if (!m) fail(`Unexpected character ${JSON.stringify(c)}`);
    const tok = m![0];
    i += tok.length;
    if (tok === "undefined" || tok === "NaN" || tok.endsWith("Infinity")) out += "null";
    else out += tok.replace(/^(-?)\./, "$10.").replace(/\.(?=$|[eE])/, "");
  };
  value();
  ws();
  if (i < n) fail("Unexpected data after JSON");
  return out;
}
