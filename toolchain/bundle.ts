// Building the bundles (what `casanode build` runs, and what the simulator, the benchmarks and
// flash use to get a fresh dist/<board>.js): rollup.config.mjs for each board of the board
// list, then the bundle check against what Espruino runs, and the sizes.

import { rollup, type RollupOptions, type OutputOptions } from "rollup";
import { copyFileSync, readFileSync, readdirSync, statSync, type Dirent } from "node:fs";
import { gzipSync } from "node:zlib";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { checkBundle } from "./bundle-check.js";
import { boardNames } from "./boards.mjs";
import { ROOT } from "./root.mjs";
import { tokenise, untokenise } from "./pretokenise.mjs";

export interface BundleInfo {
  board: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  problems: string[];
}

interface RollupConfigModule {
  boardConfig(name: string): RollupOptions & { output: OutputOptions };
  firmwarePlugins(): NonNullable<RollupOptions["plugins"]>;
  FIRMWARE_TREESHAKE: RollupOptions["treeshake"];
  diagPageConfig(): Promise<RollupOptions & { output: OutputOptions }>;
  DIAG_PAGE_NODE_ONLY: string[];
}

/** dist/diag/: the maintenance crews' diagnostics page (web/diag/), served by `casanode diag --web` */
export const DIAG_PAGE_DIR = path.join(ROOT, "dist", "diag");
const DIAG_PAGE_STATIC = ["index.html", "diag.css"];

/** Bundle the diagnostics page into dist/diag/ (script, page, style) and describe its script. */
export async function buildDiagPage(): Promise<BundleInfo> {
  const config = await loadConfig();
  await atRoot(async () => {
    const options = await config.diagPageConfig();
    const bundle = await rollup(options);
    try {
      await bundle.write(options.output);
    } finally {
      await bundle.close();
    }
  });
  for (const f of DIAG_PAGE_STATIC) copyFileSync(path.join(ROOT, "web", "diag", f), path.join(DIAG_PAGE_DIR, f));
  const file = path.join(DIAG_PAGE_DIR, "diag.js");
  const code = readFileSync(file, "utf8");
  const problems: string[] = [];
  // a Node module left in the page would fail in the browser
  for (const m of config.DIAG_PAGE_NODE_ONLY) if (code.includes(JSON.stringify(m)) || code.includes(`'${m}'`)) problems.push(`imports ${m}`);
  if (/[^\x00-\x7f]/.test(code)) problems.push("non-ASCII characters");
  const bytes = Buffer.byteLength(code);
  return { board: "diag page", file: path.relative(ROOT, file), bytes, gzipBytes: gzipSync(code, { level: 9 }).length, problems };
}

/** run `f` in the repo's folder: the TypeScript plugin's tsconfig and include paths are relative to it */
async function atRoot<T>(f: () => Promise<T>): Promise<T> {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    return await f();
  } finally {
    process.chdir(cwd);
  }
}

async function loadConfig(): Promise<RollupConfigModule> {
  // in the repo's folder: its default export makes every board's plugins as it loads
  return atRoot(async () => (await import(pathToFileURL(path.join(ROOT, "rollup.config.mjs")).href)) as RollupConfigModule);
}

/**
 * One firmware module (`entry`, relative to the repo) with what it imports, built alone as the
 * bundles build it (ES5, minified), as an ES module: what that code weighs in a bundle.
 */
export async function minifiedModule(entry: string): Promise<string> {
  const config = await loadConfig();
  return atRoot(async () => {
    const bundle = await rollup({ input: entry, plugins: config.firmwarePlugins(), treeshake: config.FIRMWARE_TREESHAKE });
    try {
      return (await bundle.generate({ format: "es" })).output[0].code;
    } finally {
      await bundle.close();
    }
  });
}

export async function buildBoards(names?: string[]): Promise<BundleInfo[]> {
  const boards = boardNames();
  const wanted = names && names.length ? names : boards;
  const unknown = wanted.filter((n) => !boards.includes(n));
  if (unknown.length) throw new Error(`unknown board ${unknown.join(", ")}; boards: ${boards.join(", ")}`);
  const config = await loadConfig();
  return atRoot(async () => {
    const results: BundleInfo[] = [];
    for (const name of wanted) {
      const options = config.boardConfig(name);
      const bundle = await rollup(options);
      try {
        await bundle.write(options.output);
      } finally {
        await bundle.close();
      }
      results.push(describeBundle(name, path.join(ROOT, options.output.file!)));
    }
    return results;
  });
}

export function describeBundle(board: string, file: string): BundleInfo {
  const code = readFileSync(file);
  return {
    board,
    file: path.relative(ROOT, file),
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    problems: checkBundle(code.toString("latin1")).map((p) => `${p.construct} at ${p.line}:${p.column}`),
  };
}

/** dist/<board>.js, rebuilt when missing or older than any firmware source. */
export async function ensureBundle(board: string): Promise<string> {
  const file = path.join(ROOT, "dist", board + ".js");
  let stale = true;
  try {
    stale = statSync(file).mtimeMs < newestSourceMtime();
  } catch {
    stale = true;
  }
  if (stale) await buildBoards([board]);
  return file;
}

function newestSourceMtime(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSafe(dir)) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts") || entry.name.endsWith(".mjs")) newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  for (const dir of ["boards", "drivers", "firmware", "types"]) walk(path.join(ROOT, dir));
  for (const file of ["rollup.config.mjs", "toolchain/rollup-espruino.mjs", "toolchain/pretokenise.mjs", "toolchain/wake-prelude.ts"]) newest = Math.max(newest, statSync(path.join(ROOT, file)).mtimeMs);
  return newest;
}

function readdirSafe(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

export function formatSizes(infos: BundleInfo[]): string {
  const ok = (i: BundleInfo) => (i.board === "diag page" ? "browser page, no Node imports" : "espruino-safe");
  const rows = infos.map((i) => `  ${i.file.padEnd(26)} ${String(i.bytes).padStart(7)} B  ${String(i.gzipBytes).padStart(6)} B gzip  ${i.problems.length ? "REFUSED: " + i.problems.join("; ") : ok(i)}`);
  return ["bundle                       minified      gzip", ...rows].join("\n");
}

/**
 * The bundle image with its version literal `from` changed to `to` (a new release for OTA runs
 * and tests): the image is pretokenised, so the literal is found in the source it stands for.
 * Throws unless the literal occurs exactly once.
 */
export function withFirmwareVersion(image: string, from: string, to: string): string {
  const source = untokenise(image);
  const n = source.split(JSON.stringify(from)).length - 1;
  if (n !== 1) throw new Error(`the bundle holds ${n} literals ${JSON.stringify(from)}, not one`);
  return tokenise(source.replace(JSON.stringify(from), JSON.stringify(to)));
}
