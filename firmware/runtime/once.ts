// A lazily evaluated part's API (uplink/lazy.ts, runtime/console-lazy.ts). Firmware code: ES5.

/** a part's code, evaluated the first time it is asked for */
export function once<T>(load: () => T): () => T {
  var api: T | null = null;
  return function () {
    if (!api) api = load();
    return api;
  };
}
