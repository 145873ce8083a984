// Rollup plugin: make TypeScript's ES5 helpers safe for Espruino.
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
