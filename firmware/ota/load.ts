// The OTA code (run.ts and what it uses) as one object. The bundles replace this file: there it
// evaluates the same code from a string in the image, the first time an update needs it
// (rollup.config.mjs `LAZY_PARTS`; docs/ota.md "Loaded when needed"). Firmware code: ES5.

import { otaBoot, otaFetch, otaMessage, otaPublish, otaUploaded, otaWantsLink } from "./run.js";
import type { OtaApi } from "./lazy.js";

export function loadOta(): OtaApi {
  return { boot: otaBoot, fetch: otaFetch, message: otaMessage, publish: otaPublish, uploaded: otaUploaded, wantsLink: otaWantsLink };
}
