// How long an ESP32 takes from reset (or a deep-sleep wake) to the bundle running: a fixed
// part, and Espruino's pass over the bundle's image, which grows with the bytes it lexes (all
// but the inside of long raw strings, which it skips: toolchain/pretokenise.mjs). The pass is
// measured on Espruino's Linux build (bench/boot-time.ts writes sim/boot-data.json, kept in
// the repo for CI, which has no Espruino build) and scaled to the ESP32 by CPU_FACTOR.

import { readFileSync } from "node:fs";
import { lexedBytes } from "../toolchain/pretokenise.mjs";

export interface BootData {
  method: string;
  interpreter: string;
  measuredAt: string;
  /** the measuring host's clock, MHz (/proc/cpuinfo) */
  hostMhz: number;
  trivialMs: number;
  /** lexedBytes: what the lexer reads of the image (toolchain/pretokenise.mjs lexedBytes) */
  bundles: { [board: string]: { bytes: number; lexedBytes: number; scanMs: number; ratio: number } };
}

export const BOOT_DATA: BootData = JSON.parse(readFileSync(new URL("./boot-data.json", import.meta.url), "utf8"));

/**
 * Reset to the interpreter ready with an empty .bootcde: ROM and 2nd-stage bootloader (image
 * check), ESP-IDF start-up, Espruino's init and Storage scan. An estimate: ESP-IDF start-up
 * with the default bootloader options takes a few hundred ms (Espressif's "Reducing boot time"
 * notes), less with the image check skipped on deep-sleep wakes.
 */
export const BOOT_BASE_MS = 250;
/**
 * the ESP32 Espruino build's CPU clock, MHz: Espruino 2v2x builds the ESP32 with ESP-IDF 4.4 and
 * targets/esp32/IDF4/sdkconfig, which sets CONFIG_ESP32_DEFAULT_CPU_FREQ_MHZ=160, and nothing
 * in targets/esp32 changes it at run time (240 was the old IDF 3 build's Changes_V3.1/sdkconfig)
 */
export const ESP32_MHZ = 160;
/**
 * Instructions per clock of the measuring host's core over the ESP32's Xtensa LX6 running an
 * interpreter: 2 (EEMBC CoreMark per MHz: ~3 for the ESP32's LX6, 5-7 for a current x86
 * core; the LX6 also runs Espruino out of QSPI flash through a 32 KB cache, espruino/Espruino
 * issue 1915, which this leaves out). An estimate, not a measurement on a board.
 */
export const IPC_RATIO = 2;
/** ESP32 ms per host ms of the same Espruino work, for data measured on a host of `hostMhz` */
export function cpuFactor(hostMhz: number = BOOT_DATA.hostMhz): number {
  return (hostMhz / ESP32_MHZ) * IPC_RATIO;
}

/**
 * Host ms per byte of bundle: the fastest rate over the measured bundles (one lexer, one rate:
 * a shared, loaded machine only ever makes a run slower).
 */
export function scanMsPerByte(data: BootData = BOOT_DATA): number {
  let best = Infinity;
  for (const k in data.bundles) {
    const b = data.bundles[k];
    if (b.lexedBytes > 0 && b.scanMs > 0) best = Math.min(best, b.scanMs / b.lexedBytes);
  }
  return Number.isFinite(best) ? best : 0;
}

/** reset to the bundle running, ms, for a bundle that lexes `bytes` on an ESP32 */
export function esp32BootMs(bytes: number, data: BootData = BOOT_DATA): number {
  return Math.round(BOOT_BASE_MS + bytes * scanMsPerByte(data) * cpuFactor(data.hostMhz));
}

/** the ESP32's lexing pass over code: a bundle at boot, or a module it evaluates (the OTA code) */
export function esp32LexMs(code: string, data: BootData = BOOT_DATA): number {
  return lexedBytes(code) * scanMsPerByte(data) * cpuFactor(data.hostMhz);
}

/** reset to the bundle running, ms, for an image (what .bootcde holds) */
export function esp32BootMsOf(image: string, data: BootData = BOOT_DATA): number {
  return Math.round(BOOT_BASE_MS + esp32LexMs(image, data));
}
