// process (version, env, memory(), uncaughtException), load(), getSerial(), btoa/atob.

import type { EspruinoBoot } from "./context.js";
import { softwareReset } from "./halt.js";

export const ESPRUINO_VERSION = "2v29";

export function installSystem(s: any, boot: EspruinoBoot): void {
  const host = boot.host;
  const api = <T extends (...a: any[]) => any>(f: T) => boot.api(f);
  const esp32 = host.chip === "esp32";
  s.process = {
    version: ESPRUINO_VERSION,
    env: {
      VERSION: ESPRUINO_VERSION,
      BOARD: esp32 ? "ESP32" : "LINUX",
      MODULES: esp32 ? "Flash,Storage,heatshrink,net,dgram,http,NetworkJS,Wifi,ESP32" : "timer,Flash,Storage,heatshrink,fs,net,dgram,tls,http,NetworkJS,TelnetServer,crypto",
      CONSOLE: "Serial1",
      STORAGE: host.storage.totalBytes,
    },
    memory: api((_gc?: any) => boot.obj(boot.checkMemory())),
    on: api((event: any, fn: any) => {
      if (typeof fn === "function") (boot.processListeners[String(event)] ??= []).push(fn);
    }),
  };
  // load(): reset and run the saved code again (what a crew types to restart a node)
  s.load = api(() => softwareReset(host));
  s.getSerial = api(() => host.serialNumber);
  s.btoa = api((data: any) => Buffer.from(String(data), "latin1").toString("base64"));
  s.atob = api((data: any) => Buffer.from(String(data), "base64").toString("latin1"));
}
