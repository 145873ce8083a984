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

describe("layers: tools -> bench -> sim -> toolchain, and boards -> firmware -> drivers", () => {
  const below: Array<[string, string[]]> = [
    ["bench", ["tools"]],
    ["sim", ["tools", "bench"]],
    ["toolchain", ["tools", "bench", "sim"]],
    // firmware code: nothing of the host side reaches a bundle
    ["boards", ["tools", "bench", "sim", "toolchain", "web"]],
    ["firmware", ["tools", "bench", "sim", "toolchain", "web", "boards"]],
    ["drivers", ["tools", "bench", "sim", "toolchain", "web", "boards", "firmware"]],
  ];
  for (const [dir, above] of below) {
    it(`${dir}/ imports nothing from ${above.join(", ")}`, () => {
      const upward = sources(dir).flatMap((f) => imports(f).filter((t) => above.includes(folder(t))).map((t) => `${f} -> ${t}`));
      expect(upward).to.deep.equal([]);
    });
  }
});
