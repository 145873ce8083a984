import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { checkBundle } from "../../toolchain/bundle-check.js";
import { ROOT } from "../../toolchain/root.mjs";
import { tokenise } from "../../toolchain/pretokenise.mjs";

// Each snippet is something real Espruino 2v29 fails on (docs/espruino-dialect.md).
const REFUSED: Array<[string, string]> = [
  ["labelled statement", "outer: for (var i = 0; i < 3; i++) { break outer; }"],
  ["async function", "async function f() {}"],
  ["await", "async function f() { await g(); }"],
  ["generator function", "function* g() { yield 1; }"],
  ["spread", "f.apply(null, [].concat([...a]));"],
  ["spread", "var o = { ...p };"],
  ["destructuring", "var { a } = o;"],
  ["destructuring", "var [a] = arr;"],
  ["destructuring parameter", "function f({ a }) { return a; }"],
  ["default parameter", "function f(a, b = 5) { return a + b; }"],
  ["rest parameter", "function f(...args) { return args; }"],
  ["computed key", "var o = { [k]: 1 };"],
  ["optional chaining ?.", "var v = o?.p;"],
  ["** operator", "var v = 2 ** 8;"],
  ["Map", "var m = new Map();"],
  ["Set", "var s = new Set([1]);"],
  ["WeakMap", "var w = new WeakMap();"],
  ["Symbol", "var s = Symbol('x');"],
  ["Array.from", "var a = Array.from(x);"],
  ["Object.freeze", "Object.freeze(o);"],
  ["Number.isFinite", "if (Number.isFinite(x)) y();"],
  ["Number.MAX_SAFE_INTEGER", "var n = Number.MAX_SAFE_INTEGER;"],
  ["Math.log10", "var l = Math.log10(x);"],
  ["Date.UTC", "var t = Date.UTC(2026, 0, 1);"],
  ["Math.trunc", "var t = Math.trunc(x);"],
  ["Promise.race", "Promise.race([a, b]);"],
  ["RangeError", "throw new RangeError('x');"],
  [".finally()", "p.then(f).finally(g);"],
  [".flatMap()", "var f = rows.flatMap(g);"],
  [".trimStart()", "var t = s.trimStart();"],
  ["Array.prototype.slice", "var a = Array.prototype.slice.call(arguments);"],
  ["ArrayBuffer.prototype.slice", "var f = ArrayBuffer.prototype.slice;"],
  ["empty array slot", "var a = [0, 2, , 3];"],
  ["function late used before its declaration (Espruino does not hoist)", "late(); function late() {}"],
  // what terser's inline made of topicFor() in the uplink's constructor call: on 2v29 the
  // assignments went to the caller's r and e, and e (the uplink) became the node id
  ["var e used before its declaration (Espruino does not hoist var: the outer e is written)", "function k(){var e={};var n=function(t){return(r=t,e=t,r+e);var r,e}(1);return e}"],
  ["var x used before its declaration (Espruino does not hoist var: the outer x is written)", "function f(){x=1;if(a){var x}}"],
  ["class field", "class A { x = 1; }"],
  ["assignment to .length", "queue.length = 0;"],
  ["regex {m,n} quantifier", "var ok = /^[a-z0-9]{1,32}$/.test(id);"],
  ["regex {m,n} quantifier", "var two = /^a{2}$/;"],
  ["regex flag s", "var dotAll = /a.b/s;"],
  ["regex flag m", "var lines = /^b/m;"],
];

describe("bundle check: refuses what Espruino fails on", () => {
  for (const [construct, code] of REFUSED) {
    it(`catches ${construct}: ${code}`, () => {
      const problems = checkBundle(code);
      expect(problems.map((p) => p.construct)).to.include(construct);
      const p = problems.find((x) => x.construct === construct)!;
      expect(p.line).to.equal(1);
      expect(p.column).to.be.at.least(0);
    });
  }

  it("names the location of a problem deep in a bundle", () => {
    const code = "var a = 1;\nfunction f() {\n  return g(o?.p);\n}\n";
    expect(checkBundle(code)).to.deep.equal([{ construct: "optional chaining ?.", line: 3, column: 11 }]);
  });

  it("accepts the ES5 that TypeScript and terser emit for the same ideas", () => {
    const es5 = [
      "var o = { a: 1 }, a = o.a;",
      "function f(a, b) { if (b === void 0) b = 5; return a + b; }",
      "var args = [].slice.call(arguments);",
      "var m = { get: function (k) { return this[k]; } };",
      "var l = Math.log(x) / Math.LN10;",
      "function late() {} late();",
      "var s = 'Map'; var t = obj.Map; var u = { Map: 1 };",
      "function g(Map) { return Map; }",
      "var r = /^[a-z0-9_-]+$/, brace = /\\{x\\}/;",
      "var i = name.lastIndexOf('.'), k = obj.keys(), a = list.at(0);",
      "setTimeout(function () { later(); }, 10); function later() {}",
      // a catch binds its own name; a var then declared runs before any use
      "function h() { try { g(); } catch (t) {} var t = this; return t; }",
      "function v() { var x = 1; return function () { return x; }; }",
    ].join("\n");
    expect(checkBundle(es5)).to.deep.equal([]);
  });

  it("checks code a bundle evaluates from a literal (the OTA module), pretokenised or not", () => {
    const inner = "var a = [1, , 2];";
    const outer = (src: string) => "function loadOta() { (0, eval)(" + JSON.stringify(src) + "); eval(" + JSON.stringify(src) + "); }";
    const problems = checkBundle(outer(inner));
    expect(problems.map((p) => p.construct)).to.deep.equal(["in evaluated code at 1:8: empty array slot", "in evaluated code at 1:8: empty array slot"]);
    expect(checkBundle(tokenise(outer(tokenise(inner)))).map((p) => p.construct)).to.deep.equal(problems.map((p) => p.construct));
    expect(checkBundle(outer("var a = [1, 2];"))).to.deep.equal([]);
  });

  it("reports a syntax error instead of throwing", () => {
    const problems = checkBundle("function (");
    expect(problems).to.have.length(1);
    expect(problems[0].construct).to.match(/^syntax error/);
  });

  it("passes every built bundle in dist/", () => {
    const dist = path.join(ROOT, "dist");
    const bundles = readdirSync(dist).filter((f) => f.endsWith(".js"));
    expect(bundles, "npm test builds dist/ first").to.not.be.empty;
    for (const file of bundles) {
      const problems = checkBundle(readFileSync(path.join(dist, file), "latin1"));
      expect(problems, file).to.deep.equal([]);
    }
  });
});
