// Console formatting and Storage JSON against what Espruino 2v29 printed (measured on the
// Linux build: print(), the REPL's "=value", Storage.writeJSON files).

import { expect } from "chai";
import fc from "fast-check";
import { espruinoNumber, formatPrint, formatValue, formatThrown } from "../../../sim/espruino/format.js";
import { liberalJson, storageJson } from "../../../sim/espruino/json.js";
import { sizeOf, stringVars } from "../../../sim/espruino/memory.js";

const repl = (v: unknown) => "=" + formatValue(v, { limit: true, dropQuotes: true });

describe("Espruino console formatting", () => {
  it("prints numbers with Espruino's ~11 digits and its exponent quirks (measured)", () => {
    expect(espruinoNumber(1 / 3)).to.equal("0.33333333333");
    expect(espruinoNumber(123456789.123)).to.equal("123456789.12299999594");
    expect(espruinoNumber(0.1 + 0.2)).to.equal("0.3");
    expect(espruinoNumber(1e21)).to.equal("10e+20");
    expect(espruinoNumber(1e-7)).to.equal("1e-7");
    expect(espruinoNumber(0.000001234)).to.equal("0.000001234");
    expect(espruinoNumber(1234567890123)).to.equal("1234567890123");
    expect(espruinoNumber(-0)).to.equal("0");
    expect(espruinoNumber(NaN)).to.equal("NaN");
    expect(espruinoNumber(123.456)).to.equal("123.456");
  });

  it("reads back within 1e-9 relative for any finite double", () => {
    fc.assert(
      fc.property(fc.double({ min: -1e15, max: 1e15, noNaN: true, noDefaultInfinity: true }), (x) => {
        const back = Number(espruinoNumber(x));
        expect(Math.abs(back - x)).to.be.at.most(Math.abs(x) * 1e-9 + 1e-10);
      }),
    );
  });

  it("prints values as print() and the REPL do (measured)", () => {
    expect(formatPrint([1 / 3, 123456789.123, [1, 2], { a: 1 }, "s", 1e21, 0.1 + 0.2, -0, NaN])).to.equal(
      '0.33333333333 123456789.12299999594 [ 1, 2 ] { "a": 1 } s 10e+20 0.3 0 NaN',
    );
    expect(formatPrint(["a", { b: 2 }])).to.equal('a { "b": 2 }');
    expect(formatPrint([1.5, "x", [1, 2], { a: "b" }])).to.equal('1.5 x [ 1, 2 ] { \n  "a": "b"\n }');
    expect(repl(2)).to.equal("=2");
    expect(repl({ a: 1, b: "x", c: [1, 2, { d: 3 }] })).to.equal('={ a: 1, \n  b: "x", \n  c: [ 1, 2, \n    { d: 3 }\n   ]\n }');
    expect(repl([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17])).to.equal("=[ 1, 2, 3, 4, 5,  ... 13, 14, 15, 16, 17 ]");
    expect(repl("abc")).to.equal('="abc"');
    expect(repl(new Uint8Array([1, 2]))).to.equal("=new Uint8Array([1, 2])");
    expect(repl(undefined)).to.equal("=undefined");
    expect(formatPrint([[1, "a", { b: [1, 2] }, null, undefined, true]])).to.equal('[ 1, \n  "a", \n  { \n    "b": [ 1, 2 ]\n   }, \n  null, undefined, true ]');
  });

  it("names thrown values as 'Uncaught' shows them (measured)", () => {
    expect(formatThrown(new Error("boom"))).to.equal("Error: boom");
    expect(formatThrown("str")).to.equal("str");
    expect(formatThrown(new TypeError("t"))).to.equal("TypeError: t");
  });
});

describe("Storage JSON dialect", () => {
  it("writeJSON drops quotes from identifier keys, skips undefined and functions (measured)", () => {
    const v = { a: "x", "b-c": 1, n: 1.5, arr: [1, "\u00e9\n"], nested: { z: null }, u: undefined, f() {} };
    expect(storageJson(v)).to.equal('{a:"x","b-c":1,n:1.5,arr:[1,"\\u00E9\\n"],nested:{z:null}}');
    expect(storageJson("str")).to.equal('"str"');
    expect(storageJson(5)).to.equal("5");
    expect(storageJson(undefined)).to.equal("null");
    expect(storageJson(1 / 3)).to.equal("0.33333333333");
  });

  it("readJSON's liberal parser reads back whatever writeJSON wrote (numbers to Espruino's precision)", () => {
    // Espruino prints 11 digits after the point (or ~11 significant with an exponent)
    const close = (a: unknown, b: unknown): boolean => {
      if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= Math.max(Math.abs(b) * 1e-9, 1e-11);
      if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => close(x, b[i]));
      if (a && b && typeof a === "object" && typeof b === "object") {
        const ka = Object.keys(a), kb = Object.keys(b);
        return ka.length === kb.length && ka.every((k) => close((a as any)[k], (b as any)[k]));
      }
      return a === b;
    };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => {
        const back = JSON.parse(liberalJson(storageJson(v)));
        expect(close(back, v), `${JSON.stringify(v)} came back as ${JSON.stringify(back)}`).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });

  it("the liberal parser takes Espruino's forms and refuses garbage", () => {
    expect(JSON.parse(liberalJson("{a:1,'b':\"\\x41\",c:[.5,-2.,1e3]}"))).to.deep.equal({ a: 1, b: "A", c: [0.5, -2, 1000] });
    expect(() => liberalJson("{x")).to.throw(SyntaxError);
    expect(() => liberalJson("{a:1}\xff\xff")).to.throw(SyntaxError);
    expect(() => liberalJson("")).to.throw(SyntaxError);
  });
});

describe("JsVar estimate", () => {
  it("matches E.getSizeOf's shapes: objects, arrays, nested values (measured on the 16383-var build)", () => {
    expect(sizeOf({})).to.equal(1);
    expect(sizeOf({ a: 1 })).to.equal(2);
    expect(sizeOf({ a: 1, b: 2 })).to.equal(3);
    expect(sizeOf({ a: 1.5 })).to.equal(3);
    expect(sizeOf({ a: { b: 1 } })).to.equal(4);
    expect(sizeOf([])).to.equal(1);
    expect(sizeOf([1, 2, 3])).to.equal(4);
    expect(sizeOf([1.5, 2.5])).to.equal(5);
    expect(sizeOf([[1]])).to.equal(4);
    const big: unknown[] = [];
    for (let i = 0; i < 100; i++) big.push({ x: i, y: "hello" });
    expect(sizeOf(big)).to.equal(501);
  });

  it("sizes strings by ESP32 var layout: 9 chars in the first var, 10 in each next", () => {
    expect(stringVars(0)).to.equal(1);
    expect(stringVars(9)).to.equal(1);
    expect(stringVars(10)).to.equal(2);
    expect(stringVars(19)).to.equal(2);
    expect(stringVars(20)).to.equal(3);
    const o: any = { s: "x" };
    o.self = o; // cycles count once
    expect(sizeOf(o)).to.equal(4); // object, name s, "x", name self
  });
});
