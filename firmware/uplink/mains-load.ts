// A mains node's side of the link (mains.ts) as one object. The bundles replace this file: there
// it evaluates the same code from a string in the image, at a mains node's boot
// (rollup.config.mjs `LAZY_PARTS`; uplink/mains-lazy.ts). Firmware code: ES5.

import { startMains } from "./mains.js";
import type { MainsApi } from "./mains-lazy.js";

export function loadMains(): MainsApi {
  return { startMains: startMains };
}
