// One ES5 bundle per board profile: boards/<name>.ts -> dist/<name>.js.
// TypeScript lowers to ES5 (tsconfig.firmware.json); terser keeps to ES5 and hoists function
// declarations, because Espruino does not hoist (docs/espruino-dialect.md).
import { readdirSync } from "node:fs";
import typescript from "@rollup/plugin-typescript";
import terser from "@rollup/plugin-terser";
import { espruinoHelpers } from "./tools/rollup-espruino.mjs";

export const boardNames = readdirSync(new URL("./boards", import.meta.url))
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("espruino-") && f !== "devices.ts")
  .map((f) => f.slice(0, -3))
  .sort();

export function boardConfig(name) {
  return {
    input: `boards/${name}.ts`,
    treeshake: { moduleSideEffects: false, propertyReadSideEffects: false },
    plugins: [
      typescript({ tsconfig: "./tsconfig.firmware.json", noEmitOnError: true, outDir: undefined, include: ["boards/**/*.ts", "drivers/**/*.ts", "firmware/**/*.ts", "types/*.d.ts"] }),
      espruinoHelpers(),
      terser({
        ecma: 5,
        compress: { defaults: false, hoist_funs: true, dead_code: true, unused: true, conditionals: true, evaluate: true, booleans: true, join_vars: true, collapse_vars: false },
        mangle: true,
        // short lines: Espruino copies the source line into each stack frame of a trace, and one
        // 55 KB line runs a 16383-variable heap out of memory on the first caught exception (measured)
        format: { ascii_only: true, comments: false, max_line_len: 500 },
      }),
    ],
    output: { file: `dist/${name}.js`, format: "iife", strict: false, esModule: false, generatedCode: "es5" },
    onwarn(warning, warn) {
      if (warning.code === "CIRCULAR_DEPENDENCY") throw new Error(warning.message);
      warn(warning);
    },
  };
}

export default boardNames.map(boardConfig);
