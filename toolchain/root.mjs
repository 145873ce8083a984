// The repository's root folder, for every host module that reads or writes files of the repo
// (boards/, dist/, bench/). fileURLToPath, not URL.pathname: a path with spaces or a Windows
// drive letter comes out right. In .mjs so rollup.config.mjs reads it without a TypeScript loader.
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
