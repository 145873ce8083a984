// A UART between the emulated MCU (Espruino's Serial API) and a simulated device.
// Bytes take their real time on the wire (10 bits a byte at the set baud rate).

import type { VirtualClock } from "../clock.js";

/** The device end of a UART: it hears what the MCU transmits. */
export interface UartDevice {
  /** bytes the MCU wrote, delivered after their time on the wire */
  receive(bytes: Uint8Array): void;
  /** the MCU set the port up (or changed baud); devices that care can check it */
  onSetup?(baud: number): void;
}

export class SimUart implements EspruinoSerial {
  baud = 0;
  /** bytes the MCU wrote, for tests and traces */
  readonly txLog: number[] = [];
  private listeners: Array<(data: string) => void> = [];
  private device: UartDevice | undefined;
  private rxBusyUntil = 0;
  private txBusyUntil = 0;

  constructor(readonly name: string, private clock: VirtualClock) {}

  attach(device: UartDevice | undefined): void {
    this.device = device;
  }

  // ---- MCU side (Espruino API) ----
  setup(baud: number, _options?: SerialSetupOptions): void {
    this.baud = baud;
    this.device?.onSetup?.(baud);
  }

  write(data: string | number[] | Uint8Array | number): void {
    const bytes = toBytes(data);
    if (!bytes.length) return;
    for (const b of bytes) this.txLog.push(b);
    if (this.txLog.length > 4096) this.txLog.splice(0, this.txLog.length - 4096);
    const device = this.device;
    if (!device || !this.baud) return; // not set up: nothing leaves the pin
    const start = Math.max(this.clock.now(), this.txBusyUntil);
    this.txBusyUntil = start + this.wireMs(bytes.length);
    this.clock.setTimeout(() => device.receive(bytes), this.txBusyUntil - this.clock.now());
  }

  on(event: "data", listener: (data: string) => void): void {
    if (event === "data") this.listeners.push(listener);
  }

  removeAllListeners(_event?: string): void {
    this.listeners = [];
  }

  // ---- device side ----
  /** the device transmits bytes; the MCU's 'data' listeners get them as a binary string */
  deviceSend(bytes: Uint8Array | number[]): void {
    const copy = Uint8Array.from(bytes);
    if (!copy.length) return;
    const start = Math.max(this.clock.now(), this.rxBusyUntil);
    // before setup (baud 0) assume 9600: the bytes still take time, then nobody hears them
    this.rxBusyUntil = start + this.wireMs(copy.length);
    this.clock.setTimeout(() => {
      if (!this.baud) return;
      const text = Buffer.from(copy).toString("latin1");
      for (const l of this.listeners.slice()) l(text);
    }, this.rxBusyUntil - this.clock.now());
  }

  private wireMs(n: number): number {
    return (n * 10 * 1000) / (this.baud || 9600);
  }
}

export function toBytes(data: string | number[] | Uint8Array | number): Uint8Array {
  if (typeof data === "number") return Uint8Array.of(data & 0xff);
  if (typeof data === "string") return Uint8Array.from(Buffer.from(data, "latin1"));
  return Uint8Array.from(data, (b) => b & 0xff);
}
