// What real Espruino lacks, removed from each node's context so firmware that leans on it
// fails in the simulator as it would on the board.
//
// Measured, not guessed: every own property of V8's built-ins was probed on Espruino 2v29
// (Linux build of the same source as the ESP32 one) through an instance or the constructor
// (`[].flat`, `Number.isFinite`...); this is the list that came back undefined.
// Left out on purpose: RegExp.prototype getters (flags, global...): V8's own replace/split
// read them, so deleting them would break regexps that do work on Espruino.
// Not emulated: Espruino cannot read methods through `X.prototype` (`Array.prototype.slice`
// is undefined there while `[].slice` works); the bundle check refuses that pattern instead.

/** V8 will not delete these (non-configurable): they stay in the simulator */
export const NOT_REMOVABLE = ["Number.MAX_SAFE_INTEGER", "Number.MIN_SAFE_INTEGER", "Number.EPSILON"];

export const MISSING_IN_ESPRUINO: { readonly [where: string]: readonly string[] } = {
  global: [
    "Symbol", "AggregateError", "EvalError", "RangeError", "URIError", "Intl", "BigUint64Array", "BigInt64Array",
    "Map", "BigInt", "Set", "WeakMap", "WeakSet", "Proxy", "Reflect", "FinalizationRegistry", "WeakRef",
    "decodeURI", "encodeURI", "escape", "unescape", "TextEncoder", "TextDecoder", "queueMicrotask",
    "structuredClone", "SharedArrayBuffer", "Atomics", "Iterator",
  ],
  Object: ["getOwnPropertySymbols", "hasOwn", "is", "preventExtensions", "seal", "freeze", "isExtensible", "isFrozen", "isSealed"],
  "Object.prototype": ["__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString"],
  Array: ["from", "of"],
  "Array.prototype": ["at", "copyWithin", "findLast", "findLastIndex", "lastIndexOf", "keys", "entries", "values", "flat", "flatMap", "reduceRight", "toLocaleString", "toReversed", "toSorted", "toSpliced", "with"],
  String: ["fromCodePoint", "raw"],
  "String.prototype": [
    "anchor", "at", "big", "blink", "bold", "codePointAt", "fontcolor", "fontsize", "fixed", "isWellFormed", "italics",
    "link", "localeCompare", "matchAll", "normalize", "search", "small", "strike", "sub", "sup", "toWellFormed",
    "trimStart", "trimLeft", "trimEnd", "trimRight", "toLocaleLowerCase", "toLocaleUpperCase",
  ],
  Number: ["isFinite", "isInteger", "isNaN", "isSafeInteger", "parseFloat", "parseInt", "MAX_SAFE_INTEGER", "MIN_SAFE_INTEGER", "EPSILON"],
  "Number.prototype": ["toExponential", "toPrecision", "toLocaleString"],
  Math: ["acosh", "asinh", "atanh", "cbrt", "expm1", "clz32", "cosh", "fround", "hypot", "imul", "log1p", "log2", "log10", "sinh", "tanh", "trunc"],
  Date: ["UTC"],
  "Date.prototype": [
    "toDateString", "toTimeString", "toGMTString", "setUTCDate", "setUTCFullYear", "setUTCHours", "setUTCMilliseconds",
    "setUTCMinutes", "setUTCMonth", "setUTCSeconds", "getYear", "setYear", "toLocaleString", "toLocaleDateString", "toLocaleTimeString",
  ],
  Promise: ["allSettled", "any", "race"],
  "Promise.prototype": ["finally"],
  ArrayBuffer: ["isView"],
  "ArrayBuffer.prototype": ["slice", "maxByteLength", "resizable", "resize", "transfer", "transferToFixedLength", "detached"],
  TypedArray: ["of", "from"],
  "TypedArray.prototype": ["entries", "keys", "values", "at", "copyWithin", "findLast", "findLastIndex", "lastIndexOf", "reduceRight", "toLocaleString", "toReversed", "toSorted", "with"],
  "DataView.prototype": ["getBigInt64", "setBigInt64", "getBigUint64", "setBigUint64"],
  Error: ["captureStackTrace", "prepareStackTrace", "stackTraceLimit"],
};

/** where each entry of MISSING_IN_ESPRUINO lives, given a context's global object */
export function builtinHolder(g: any, where: string): any {
  switch (where) {
    case "global":
      return g;
    case "TypedArray":
      return Object.getPrototypeOf(g.Uint8Array);
    case "TypedArray.prototype":
      return Object.getPrototypeOf(g.Uint8Array.prototype);
  }
  const [ctor, proto] = where.split(".");
  const c = g[ctor];
  return proto ? c && c.prototype : c;
}

/**
 * JS source of a function (g) => string[] that removes what Espruino lacks from the built-ins
 * of the context it runs in, and returns what it could not remove. Globals are deleted (so
 * using one is a ReferenceError, as on Espruino); members are set to undefined rather than
 * deleted, which reads the same to firmware (typeof, calls) but keeps V8's built-in objects
 * fast: deleting ~200 properties per boot cost more than the context itself.
 * V8 makes Number.MAX_SAFE_INTEGER, MIN_SAFE_INTEGER and EPSILON non-configurable and
 * read-only, so those stay (the bundle check must catch them).
 */
export const REFUSE_SOURCE = `function (g) {
  var L = ${JSON.stringify(MISSING_IN_ESPRUINO)}, left = [], gopd = g.Object.getOwnPropertyDescriptor;
  var H = { global: g, TypedArray: g.Object.getPrototypeOf(g.Uint8Array), "TypedArray.prototype": g.Object.getPrototypeOf(g.Uint8Array.prototype) };
  for (var w in L) {
    var h = H[w];
    if (!h) { var p = w.split("."); h = g[p[0]]; if (p[1]) h = h && h.prototype; }
    if (!h) continue;
    var n = L[w];
    for (var i = 0; i < n.length; i++) {
      var k = n[i], d = gopd(h, k);
      if (!d) continue;
      try {
        if (w === "global" || !("value" in d) || !d.writable) delete h[k];
        else h[k] = undefined;
      } catch (e) {}
      d = gopd(h, k);
      if (d && !("value" in d && d.value === undefined)) left.push(w + "." + k);
    }
  }
  return left;
}`;

/** the same, from the host on a context's global object (returns what stayed) */
export function refuseMissing(g: any): string[] {
  const fn = g.Function(`return (${REFUSE_SOURCE})`)();
  return [...fn(g)];
}
