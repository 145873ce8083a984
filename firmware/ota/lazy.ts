// What the rest of the firmware calls of the OTA code. That code (~15 KB of image) is not
// parsed at a wake with no update under way: the bundle keeps it as a string, lexed in no time
// (a raw string, docs/espruino-dialect.md), and evaluates it only when a boot finds something
// to finish or report, or a manifest arrives (docs/ota.md "Loaded when needed").
// Firmware code: ES5, Espruino subset.

import type { Runtime } from "../runtime/state.js";
import type { Uplink } from "../uplink/link.js";
import { otaTopic } from "./messages.js";
import { loadOta } from "./load.js";

export interface OtaApi {
  boot(rt: Runtime): boolean;
  fetch(rt: Runtime, up: Uplink, done: ((reboot: boolean) => void) | null): void;
  message(rt: Runtime, up: Uplink, topic: string, payload: string): void;
  publish(rt: Runtime, up: Uplink): void;
  uploaded(rt: Runtime, up: Uplink | null): void;
  wantsLink(rt: Runtime): boolean;
}

var api: OtaApi | null = null;

function has(rt: Runtime, file: string): boolean {
  return rt.platform.storage.read(file, 0, 1) !== undefined;
}

function possible(rt: Runtime): boolean {
  return !!rt.platform.crc32 && !rt.configErrors.length;
}

/** the OTA code, evaluated once; null (and said) if it cannot be */
function ota(rt: Runtime): OtaApi | null {
  if (!api) {
    try {
      api = loadOta();
    } catch (e) {
      rt.log("ota: cannot load: " + e);
    }
  }
  return api;
}

/**
 * At boot: where an update stands, and a check or switch a cut interrupted done now (run.ts
 * otaBoot). Skipped when the last run of the OTA code left nothing to do (state.otaIdle) and no
 * stage, trial or cable-flashed bundle beside a boot record appeared since. true: restart now.
 */
export function otaBoot(rt: Runtime): boolean {
  if (!possible(rt)) return false;
  if (rt.store.state.otaIdle && !has(rt, "ota.job") && !has(rt, "ota.try") && !((has(rt, "ota.r0") || has(rt, "ota.r1")) && has(rt, ".bootcde"))) return false;
  var o = ota(rt);
  return o ? o.boot(rt) : false;
}

/** the topic the link subscribes for manifests ("" when this node takes no updates) */
export function otaLinkTopic(rt: Runtime): string {
  if (!possible(rt)) return "";
  return rt.ota ? rt.ota.topic : otaTopic(rt.config.site, rt.config.node);
}

export function otaWantsLink(rt: Runtime): boolean {
  return api ? api.wantsLink(rt) : false;
}

export function otaPublish(rt: Runtime, up: Uplink): void {
  if (api) api.publish(rt, up);
}

export function otaUploaded(rt: Runtime, up: Uplink | null): void {
  if (api) api.uploaded(rt, up);
}

export function otaFetch(rt: Runtime, up: Uplink, done: ((reboot: boolean) => void) | null): void {
  if (api) api.fetch(rt, up, done);
  else if (done) done(false);
}

/** a manifest (or chunk) arrived: the OTA code is loaded, and set up as at boot, first */
export function otaMessage(rt: Runtime, up: Uplink, topic: string, payload: string): void {
  if (!api && !payload) return;
  var o = ota(rt);
  if (!o) return;
  // nothing was left to finish (the boot found the node idle): set up only, never a restart here
  if (!rt.ota && o.boot(rt)) rt.log("ota: a switch is due: at the next boot");
  o.message(rt, up, topic, payload);
}
