// The link's code (link.ts, the MQTT client, SenML, the scheduler's connected side) as one object. The bundles replace this
// file: there it evaluates the same code from a string in the image, the first time a wake
// connects (rollup.config.mjs `LAZY_PARTS`; uplink/lazy.ts). Firmware code: ES5.

import { batterySession, openLink, uploaded } from "./session.js";
import type { UplinkApi } from "./lazy.js";

export function loadUplink(): UplinkApi {
  return { session: batterySession, openLink: openLink, uploaded: uploaded };
}
