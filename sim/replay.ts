// Replay a captured serial byte log into a node: a "device" that plays the bytes onto its
// UART at wire speed instead of a simulated twin, so a capture from a misbehaving sensor in
// the street can be fed to the firmware as it was seen.
//
// Capture files are either raw bytes or hex text: pairs of hex digits with optional
// whitespace, commas, "0x" prefixes and comments (# or // to the end of the line).
// Playback runs while the device is powered (its power pin, if it has one, is on) and the
// MCU has set the UART up; it loops over the capture, resuming where it stopped.

import { readFileSync } from "node:fs";
import type { SimDevice, SimDeviceContext, DeviceFaults } from "./devices/types.js";
import { noFaults } from "./devices/types.js";

/** bytes sent per wire burst: the MCU sees them as one 'data' event, as Espruino delivers chunks */
export const REPLAY_CHUNK_BYTES = 32;
/** pause between loops of the capture, ms */
export const REPLAY_LOOP_GAP_MS = 1000;
/** while the UART is not set up, check again this often, ms */
const IDLE_CHECK_MS = 500;

export class CaptureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CaptureFormatError";
  }
}

/** parse a capture: hex text if it reads as such, raw bytes otherwise */
export function parseCapture(data: Uint8Array | string): Uint8Array {
  const buf = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = buf.toString("latin1");
  if (!looksLikeHexText(text)) return new Uint8Array(buf);
  const stripped = text
    .split(/\r?\n/)
    .map((line) => line.replace(/(#|\/\/).*$/, ""))
    .join(" ")
    .replace(/0x/gi, "")
    .replace(/[\s,:;]+/g, "");
  if (stripped.length % 2) throw new CaptureFormatError("hex capture has an odd number of digits");
  if (!/^[0-9a-fA-F]*$/.test(stripped)) throw new CaptureFormatError("hex capture has characters that are not hex digits");
  const out = new Uint8Array(stripped.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(stripped.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function looksLikeHexText(text: string): boolean {
  if (!text.length) return false;
  const body = text
    .split(/\r?\n/)
    .map((line) => line.replace(/(#|\/\/).*$/, ""))
    .join(" ");
  // printable text made only of hex pairs, separators and comments
  if (/[^\x09\x0a\x0d\x20-\x7e]/.test(text)) return false;
  return /[0-9a-fA-F]/.test(body) && /^[\s0-9a-fA-Fx,:;]*$/i.test(body);
}

export function readCapture(file: string): Uint8Array {
  return parseCapture(readFileSync(file));
}

/** the replay device: stands where the twin would, on the same UART and power pin */
export class ReplayDevice implements SimDevice {
  readonly model: string;
  readonly faults: DeviceFaults = noFaults();
  /** bytes put on the wire so far */
  bytesSent = 0;
  loops = 0;
  private pos = 0;
  private timer: number | undefined;
  private powered = false;

  constructor(private ctx: SimDeviceContext, private bytes: Uint8Array) {
    if (!ctx.uart || ctx.spec.bus.kind !== "serial") throw new Error(`${ctx.spec.name}: replay needs a serial device`);
    if (!bytes.length) throw new Error(`${ctx.spec.name}: the capture is empty`);
    this.model = "replay:" + ctx.spec.model;
    ctx.uart.attach({ receive: () => {} });
    const power = ctx.spec.power;
    if (power) ctx.pins.onChange(power.pin, () => this.check());
    this.check();
  }

  currentMa(): number {
    return this.powered && !this.faults.unplugged ? this.ctx.spec.currentMa.on : 0;
  }

  active(): boolean {
    return this.powered && !this.faults.unplugged;
  }

  private supplied(): boolean {
    const p = this.ctx.spec.power;
    if (!p) return true;
    return this.ctx.pins.driven(p.pin) && this.ctx.pins.level(p.pin) === p.activeHigh;
  }

  private check(): void {
    const on = this.supplied();
    if (on === this.powered) return;
    this.powered = on;
    if (on) this.schedule(0);
    else if (this.timer !== undefined) {
      this.ctx.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      this.send();
    }, ms);
  }

  private send(): void {
    if (!this.powered) return;
    const uart = this.ctx.uart!;
    if (!uart.baud || this.faults.unplugged) return this.schedule(IDLE_CHECK_MS);
    const end = Math.min(this.pos + REPLAY_CHUNK_BYTES, this.bytes.length);
    const chunk = this.bytes.subarray(this.pos, end);
    uart.deviceSend(chunk);
    this.bytesSent += chunk.length;
    const wireMs = (chunk.length * 10 * 1000) / uart.baud;
    this.pos = end;
    if (this.pos >= this.bytes.length) {
      this.pos = 0;
      this.loops++;
      this.schedule(wireMs + REPLAY_LOOP_GAP_MS);
    } else this.schedule(wireMs);
  }
}

export function createReplayDevice(ctx: SimDeviceContext, bytes: Uint8Array): ReplayDevice {
  return new ReplayDevice(ctx, bytes);
}
