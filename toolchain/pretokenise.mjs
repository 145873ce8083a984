// Espruino's pretokenised code: what the bundle is flashed as. Reserved words and multi-char
// operators become one byte each and string literals raw strings (length-prefixed bytes), as
// Espruino's lexer reads them (src/jslex.h, 2v29; the same
// form the Espruino IDE's "pretokenise" option sends). Lexing that is measured 18% faster than
// the text (the bundle's pass at every boot and deep-sleep wake, bench/boot-time.ts) and the
// bundle is ~14% smaller. A raw string longer than a variable's inline data is skipped without
// being read (jslGetRawString). The simulator runs untokenise(image), as the lexer reads it.
import * as acorn from "acorn";

/** LEX_EQUAL: the first token of src/jslex.h's fixed list (128 + the 10 LEX_ID .. LEX_UNFINISHED_COMMENT) */
const FIRST_TOKEN = 138;
/** src/jslex.h's list from LEX_EQUAL to LEX_R_OF, in order (its ordering is frozen for this use) */
export const TOKENS = [
  "==", "===", "!=", "!==", "<=", "<<", "<<=", ">=", ">>", ">>>", ">>=", ">>>=", "+=", "-=", "++", "--",
  "*=", "/=", "%=", "&=", "&&", "|=", "||", "^=", "=>",
  "if", "else", "do", "while", "for", "break", "continue", "function", "return", "var", "let", "const",
  "this", "throw", "try", "catch", "finally", "true", "false", "null", "undefined", "new", "in",
  "instanceof", "switch", "case", "default", "delete", "typeof", "void", "debugger", "class", "extends",
  "super", "static", "of",
];
export const RAW_STRING8 = 0xd1;
export const RAW_STRING16 = 0xd2;
export const RAW_INT0 = 0xd3;
export const RAW_INT8 = 0xd4;
export const RAW_INT16 = 0xd5;

const CODE = new Map(TOKENS.map((t, i) => [t, FIRST_TOKEN + i]));
// the IDE leaves `catch` as text (espruino/Espruino#1868)
CODE.delete("catch");

const isWordChar = (c) => {
  const k = c.charCodeAt(0);
  return (k >= 48 && k <= 57) || (k >= 65 && k <= 90) || (k >= 97 && k <= 122) || k === 95 || k === 36;
};

/**
 * The pretokenised image of ES5 source (a latin1 string: one char per byte). Line breaks
 * between tokens are kept: Espruino copies a trace's source line into each stack frame, so
 * lines must stay short. Numbers stay text: Function.prototype.toString prints raw ints wrong
 * on 2v29 (`void 0` as `void0`, -1 as 255: docs/espruino-dialect.md), and the OTA selector is
 * built from function text.
 */
export function tokenise(js) {
  let out = "";
  let prevEnd = 0;
  /** the last piece written was source text (not a token byte): a gap before more text may matter */
  let lastText = false;
  for (const tk of acorn.tokenizer(js, { ecmaVersion: 5, allowReserved: true })) {
    const gap = js.slice(prevEnd, tk.start);
    prevEnd = tk.end;
    const text = js.slice(tk.start, tk.end);
    const label = tk.type.label;
    let piece;
    if (label === "string" && tk.value.length > 0 && tk.value.length < 65536 && !/[^\x00-\xff]/.test(tk.value)) {
      const n = tk.value.length;
      piece = n < 256 ? String.fromCharCode(RAW_STRING8, n) : String.fromCharCode(RAW_STRING16, n & 255, n >> 8);
      piece += tk.value;
    } else if (label !== "string" && label !== "regexp" && label !== "num" && CODE.has(text)) {
      piece = String.fromCharCode(CODE.get(text));
    }
    if (piece === undefined) {
      // text next to text: keep the gap that separated them (`a in b` is tokenised, `a - -b` is not)
      if (gap.includes("\n")) out += "\n";
      else if (lastText && gap.length) out += " ";
      out += text;
      lastText = true;
    } else {
      if (gap.includes("\n")) out += "\n";
      out += piece;
      lastText = false;
    }
  }
  return out;
}

/** Whether code holds a token byte Espruino's lexer would read as one (plain ASCII source has none). */
export function isTokenised(code) {
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c >= FIRST_TOKEN && c <= RAW_INT16) return true;
  }
  return false;
}

const untokenised = new Map();
/** The JavaScript source a pretokenised image stands for, as Espruino's lexer reads it. */
export function untokenise(code) {
  if (!isTokenised(code)) return code;
  // the simulator reads the same few images at every boot and eval
  let out = untokenised.get(code);
  if (out === undefined) {
    out = untokeniseOnce(code);
    if (untokenised.size >= 16) untokenised.delete(untokenised.keys().next().value);
    untokenised.set(code, out);
  }
  return out;
}

function untokeniseOnce(code) {
  const parts = [];
  // the last character written, and whether a token (not source text) wrote it
  let last = "", afterToken = false;
  const put = (t) => {
    if (isWordChar(last) && isWordChar(t[0])) parts.push(" ");
    parts.push(t);
    last = t[t.length - 1];
    afterToken = true;
  };
  /** source text after a token: `return` then `a` */
  const text = (ch) => {
    if (afterToken && isWordChar(ch) && isWordChar(last)) parts.push(" ");
    parts.push(ch);
    last = ch;
    afterToken = false;
  };
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === RAW_STRING8 || c === RAW_STRING16) {
      let n = code.charCodeAt(++i);
      if (c === RAW_STRING16) n |= code.charCodeAt(++i) << 8;
      put(JSON.stringify(code.substr(i + 1, n)));
      i += n;
    } else if (c === RAW_INT0) put("0");
    else if (c === RAW_INT8 || c === RAW_INT16) {
      let v = c === RAW_INT8 ? (code.charCodeAt(++i) << 24) >> 24 : 0;
      if (c === RAW_INT16) {
        v = code.charCodeAt(++i);
        v = ((v | (code.charCodeAt(++i) << 8)) << 16) >> 16;
      }
      put(v < 0 ? "(" + v + ")" : String(v));
    } else if (c >= FIRST_TOKEN && c < FIRST_TOKEN + TOKENS.length) put(TOKENS[c - FIRST_TOKEN]);
    else text(code[i]);
  }
  return parts.join("");
}

/** The first token where two sources differ (numbers compared by value), or "" */
export function firstTokenDifference(a, b) {
  const ta = [...acorn.tokenizer(a, { ecmaVersion: 5, allowReserved: true })];
  const tb = [...acorn.tokenizer(b, { ecmaVersion: 5, allowReserved: true })];
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i], y = tb[i];
    if (!x || !y) return `${ta.length} tokens against ${tb.length}`;
    const same = x.type.label === y.type.label && (x.type.label === "num" || x.type.label === "string" ? x.value === y.value : a.slice(x.start, x.end) === b.slice(y.start, y.end));
    if (!same) return `token ${i}: ${a.slice(x.start, x.end)} against ${b.slice(y.start, y.end)}`;
  }
  return "";
}

/** raw strings longer than this are not read by the lexer (jslGetRawString: longer than a variable's inline data, ~10 bytes on ESP32; 16 leaves a margin) */
export const RAW_SKIPPED_ABOVE = 16;

/** The bytes Espruino's lexer reads in an image: all but the inside of long raw strings. */
export function lexedBytes(code) {
  let skipped = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === RAW_STRING8 || c === RAW_STRING16) {
      let n = code.charCodeAt(i + 1);
      if (c === RAW_STRING16) n |= code.charCodeAt(i + 2) << 8;
      i += (c === RAW_STRING16 ? 2 : 1) + n;
      if (n > RAW_SKIPPED_ABOVE) skipped += n;
    } else if (c === RAW_INT8) i += 1;
    else if (c === RAW_INT16) i += 2;
  }
  return code.length - skipped;
}
