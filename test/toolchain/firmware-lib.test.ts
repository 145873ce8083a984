import { expect } from "chai";
import ts from "typescript";
import path from "node:path";
import { ROOT } from "../../toolchain/root.mjs";

// Firmware is type-checked against what Espruino has, not what Node has.
function firmwareDiagnostics(source: string): string[] {
  const configFile = ts.readConfigFile(path.join(ROOT, "tsconfig.firmware.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const file = path.join(ROOT, "firmware", "__lib_probe__.ts");
  const host = ts.createCompilerHost(parsed.options);
  const readFile = host.readFile;
  host.readFile = (f) => (path.resolve(f) === file ? source : readFile.call(host, f));
  host.fileExists = ((exists) => (f: string) => path.resolve(f) === file || exists(f))(host.fileExists);
  const typeFiles = ["espruino-api.d.ts", "espruino-globals.d.ts", "es-espruino.d.ts"].map((f) => path.join(ROOT, "types", f));
  const program = ts.createProgram([file, ...typeFiles], { ...parsed.options, noEmit: true }, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName) === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("firmware type-check: only what Espruino has", () => {
  for (const [what, code] of [
    ["Map", "export const m = new Map<string, number>();"],
    ["Set", "export const s = new Set<number>();"],
    ["Array.from", "export const a = Array.from([1, 2]);"],
    ["Math.log10", "export const l = Math.log10(100);"],
    ["Number.isFinite", "export const f = Number.isFinite(1);"],
    ["Symbol", "export const s = Symbol('x');"],
  ]) {
    it(`refuses ${what}`, () => {
      expect(firmwareDiagnostics(code).join("\n")).to.match(/Cannot find name|does not exist on type|only refers to a type/);
    });
  }

  it("accepts what Espruino has: Promise, find, includes, padStart, Object.assign, typed arrays", () => {
    const ok = [
      "export const p = Promise.resolve(1).then((x) => x + 1);",
      "export const f = [1, 2].find((x) => x > 1);",
      "export const i = [1, 2].includes(2) && 'ab'.includes('a') && 'a'.padStart(3, '0') === '00a';",
      "export const o = Object.assign({}, { a: 1 });",
      "export const u = new Uint8Array(4); export const d = new DataView(u.buffer).getUint16(0);",
      "export const l = Math.log(100) / Math.LN10;",
    ].join("\n");
    expect(firmwareDiagnostics(ok)).to.deep.equal([]);
  });
});
