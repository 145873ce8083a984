import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../toolchain/root.mjs";

/** Every .ts/.mjs source under a folder of the repo. */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|mjs)$/.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** The repo files a source file imports (static, dynamic and type imports), as .ts paths. */
function imports(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const targets: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g)) {
    targets.push(path.relative(ROOT, path.resolve(ROOT, path.dirname(file), m[1])).replace(/\.js$/, ".ts"));
  }
  return targets;
}

const folder = (file: string) => file.split(path.sep)[0];

/**
 * The one import below the line: the bundle check refuses what the emulation removes, and both
 * read Espruino's measured gaps from this table, which imports nothing.
 */
const DIALECT_TABLE = path.join("sim", "espruino", "dialect.ts");

describe("host layers: tools -> bench -> sim -> toolchain", () => {
  const below: Array<[string, string[]]> = [
    ["bench", ["tools"]],
    ["sim", ["tools", "bench"]],
    ["toolchain", ["tools", "bench", "sim"]],
  ];
  for (const [dir, above] of below) {
    it(`${dir}/ imports nothing from ${above.join(", ")}`, () => {
      const upward = sources(dir).flatMap((f) =>
        imports(f)
          .filter((t) => above.includes(folder(t)) && !(dir === "toolchain" && t === DIALECT_TABLE))
          .map((t) => `${f} -> ${t}`),
      );
      expect(upward).to.deep.equal([]);
    });
  }

  it(`the toolchain's one import from sim/, ${DIALECT_TABLE}, imports nothing itself`, () => {
    expect(imports(DIALECT_TABLE)).to.deep.equal([]);
  });
});
