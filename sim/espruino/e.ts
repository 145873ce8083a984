// The E object: events (E.on/emit, with "power" reported to the node's energy trace), the
// watchdog, byte conversions and E.CRC32, the console password and device, time zone, reboot.

import type { EspruinoBoot } from "./context.js";
import { softwareReset } from "./halt.js";
import { sizeOf } from "./memory.js";
import { fromLatin1, toLatin1 } from "./storage.js";
import { crc32 } from "./crc32.js";
import { listenerMethods } from "./listeners.js";

/** E.toString/E.toUint8Array's arguments as bytes: numbers, strings, arrays, ArrayBuffers, {data, count} */
function toBytes(args: any[]): number[] {
  const out: number[] = [];
  const add = (v: any) => {
    if (typeof v === "number") out.push(v & 0xff);
    else if (typeof v === "string") for (const b of fromLatin1(v)) out.push(b);
    else if (v && typeof v === "object" && "data" in v && !ArrayBuffer.isView(v) && !Array.isArray(v)) for (let n = 0; n < (v.count ?? 1); n++) add(v.data);
    else if (v && Object.prototype.toString.call(v) === "[object ArrayBuffer]") for (const b of new Uint8Array(v)) out.push(b);
    else if (v && typeof v.length === "number") for (let i = 0; i < v.length; i++) add(v[i]);
  };
  for (const a of args) add(a);
  return out;
}

export function installE(s: any, boot: EspruinoBoot): void {
  const host = boot.host;
  const api = <T extends (...a: any[]) => any>(f: T) => boot.api(f);
  const con = boot.console;
  s.E = {
    getSizeOf: api((v: any, _depth?: any) => sizeOf(v)),
    enableWatchdog: api((seconds: any, isAuto?: any) => boot.watchdog.enable(seconds, isAuto)),
    kickWatchdog: api(() => boot.watchdog.kick()),
    // one string: its bytes as they are (what toBytes makes of it, without a number per byte)
    toString: api((...args: any[]) => (args.length === 1 && typeof args[0] === "string" ? toLatin1(fromLatin1(args[0])) : toLatin1(Uint8Array.from(toBytes(args))))),
    toUint8Array: api((...args: any[]) => boot.u8(Uint8Array.from(toBytes(args)))),
    toArrayBuffer: api((str: any) => boot.u8(fromLatin1(String(str))).buffer),
    CRC32: api((data: any) => crc32(typeof data === "string" ? fromLatin1(data) : Uint8Array.from(toBytes([data])))),
    ...listenerMethods(api, () => boot.eListeners, () => (boot.eListeners = {})),
    emit: api((event: any, ...args: any[]) => {
      if (event === "power") host.firmwarePower?.(String(args[0]), !!args[1]);
      for (const fn of (boot.eListeners[String(event)] ?? []).slice()) fn(...args);
    }),
    setPassword: api((pw?: any) => con.setPassword(pw === undefined ? undefined : String(pw))),
    lockConsole: api(() => con.lock()),
    setConsole: api((device?: any, options?: any) => {
      const name = device && typeof device === "object" ? device.name ?? device.toString?.() : device;
      // another device (Serial2, "Telnet"): the REPL leaves Serial1 and Bluetooth, which is all the simulator shows
      con.setConsole(name === null || name === undefined ? null : String(name), !!(options && options.force));
    }),
    getConsole: api(() => con.current),
    setTimeZone: api((hours: any) => {
      boot.tzMs = Number(hours) * 3_600_000 || 0;
    }),
    getTemperature: api(() => host.temperatureC()),
    getAnalogVRef: api(() => 3.3),
    getErrorFlags: api(() => boot.array([] as string[])),
    hwRand: api(() => Math.floor(host.rng() * 4294967296) | 0),
    reboot: api(() => softwareReset(host)),
  };
}
