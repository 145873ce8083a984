import { expect } from "chai";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { rollup } from "rollup";
import typescript from "@rollup/plugin-typescript";
import ts from "typescript";
// @ts-expect-error: the rollup config is plain JavaScript
import { oneShotTypeScript } from "../../rollup.config.mjs";

const watchers = () => (process as any)._getActiveHandles().filter((h: object) => h.constructor.name === "FSWatcher").length;

/** build a one-file project with a type error through the TypeScript plugin as the config sets it up */
async function failedBuild(typescriptImpl: typeof ts): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "casanode-tserr-"));
  try {
    writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES5", module: "ESNext", strict: true }, include: ["*.ts"] }));
    writeFileSync(path.join(dir, "main.ts"), 'export const n: number = "not a number";\n');
    try {
      await rollup({ input: path.join(dir, "main.ts"), plugins: [typescript({ typescript: typescriptImpl, tsconfig: path.join(dir, "tsconfig.json"), noEmitOnError: true, outDir: undefined, filterRoot: dir, include: ["*.ts"] })] });
    } catch (err) {
      return (err as Error).message;
    }
    return "built";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("rollup config", () => {
  it("a build that a type error stops leaves no file watcher behind (the process can exit)", async () => {
    const before = watchers();
    expect(await failedBuild(oneShotTypeScript)).to.include("TS2322");
    expect(watchers()).to.equal(before);
  });
});
