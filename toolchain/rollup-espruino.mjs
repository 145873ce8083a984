// Rollup plugins for the firmware bundles: Espruino-safe helpers, and the pretokenised image.
import { tokenise, untokenise, firstTokenDifference } from "./pretokenise.mjs";

// Make TypeScript's ES5 helpers safe for Espruino.
// Espruino has no Array.prototype.slice reachable through the prototype (measured); `[].slice`
// works. Labelled statements and the rest are refused later by the bundle check.
export function espruinoHelpers() {
  return {
    name: "espruino-helpers",
    renderChunk(code) {
      const patched = code.replace(/Array\.prototype\.slice/g, "[].slice");
      return { code: patched, map: null };
    },
  };
}

/**
 * Rollup plugin, last: write the bundle as the pretokenised image Espruino is flashed with
 * (toolchain/pretokenise.mjs), after checking that it reads back as the same tokens.
 */
export function pretokenised() {
  return {
    name: "espruino-pretokenise",
    async writeBundle(options, bundle) {
      const { writeFileSync } = await import("node:fs");
      const path = await import("node:path");
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== "chunk") continue;
        const image = tokenise(chunk.code);
        const wrong = firstTokenDifference(chunk.code, untokenise(image));
        if (wrong) throw new Error(`pretokenised ${chunk.fileName} does not read back as the bundle: ${wrong}`);
        writeFileSync(options.file ?? path.join(options.dir, chunk.fileName), Buffer.from(image, "latin1"));
      }
    },
  };
}
