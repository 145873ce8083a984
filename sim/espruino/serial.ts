// Espruino's Serial ports seen from the firmware: Serial1 is the console, Serial2/3 sit on a
// SimUart, Bluetooth (ESP32) is the Nordic UART console device, with NRF's disconnect event.

import type { SimUart } from "../hw/uart.js";
import type { EspruinoBoot } from "./context.js";
import { fromLatin1, toLatin1 } from "./storage.js";
import { formatValue } from "./format.js";

/** Serial RX buffer when nobody listens ('rx' in process.memory(): 1024 bytes) */
const SERIAL_RX_BUFFER = 1024;

/** One port. Data with no 'data' listener is buffered for read()/available() (1 KB, then dropped). */
export class SerialPort {
  private listeners: any[] = [];
  private buffer = "";
  /** received while the interpreter was busy */
  private queued = "";
  /** false once this boot is over (detach): what it queued is dropped */
  private attached = true;

  constructor(
    private boot: EspruinoBoot,
    readonly name: string,
    private uart: SimUart | undefined,
    private printer?: (text: string) => void,
  ) {
    if (uart) {
      // a fresh chip: the UART is not set up until the firmware says so
      uart.removeAllListeners();
      uart.baud = 0;
      uart.on("data", (text) => {
        if (this.attached) this.receive(text);
      });
    }
  }

  receive(text: string): void {
    // the interpreter is busy (lexing at boot): the bytes wait in its input queue, in order
    const wait = this.boot.busyUntil - this.boot.clock.now();
    if (wait > 0 || this.queued) {
      if (!this.queued) this.boot.clock.setTimeout(() => this.receiveQueued(), wait);
      this.queued += text;
      return;
    }
    if (this.listeners.length) {
      for (const l of this.listeners.slice()) this.boot.invoke(l, undefined, [text]);
    } else {
      this.buffer = (this.buffer + text).slice(0, SERIAL_RX_BUFFER);
    }
  }

  private receiveQueued(): void {
    const text = this.queued;
    this.queued = "";
    if (this.attached && text) this.receive(text);
  }

  detach(): void {
    this.attached = false;
    this.queued = "";
    this.listeners = [];
    this.buffer = "";
    this.uart?.removeAllListeners();
  }

  listenerCount(): number {
    return this.listeners.length;
  }

  api(): any {
    const b = this.boot;
    const toText = (args: any[]) => {
      let out = "";
      for (const v of args) {
        if (typeof v === "number") out += String.fromCharCode(v & 0xff);
        else if (typeof v === "string") out += v;
        else if (v && typeof v.length === "number") out += toLatin1(Uint8Array.from(Array.prototype.slice.call(v), (x: any) => Number(x) & 0xff));
        else if (v && Object.prototype.toString.call(v) === "[object ArrayBuffer]") out += toLatin1(new Uint8Array(v));
      }
      return out;
    };
    const send = (text: string) => {
      if (this.printer) this.printer(text);
      else if (this.uart) this.uart.write(fromLatin1(text));
    };
    return {
      name: this.name,
      setup: b.api((baud?: any, options?: any) => {
        if (this.uart) this.uart.setup(Number(baud) || 9600, options);
      }),
      write: b.api((...args: any[]) => send(toText(args))),
      print: b.api((v: any) => send(typeof v === "string" ? v : formatValue(v))),
      println: b.api((v: any) => send((typeof v === "string" ? v : formatValue(v)) + "\r\n")),
      on: b.api((event: any, fn: any) => {
        if (event !== "data" || typeof fn !== "function") return;
        this.listeners.push(fn);
        if (this.buffer) {
          const pending = this.buffer;
          this.buffer = "";
          b.clock.setTimeout(() => this.receive(pending), 0);
        }
      }),
      removeListener: b.api((event: any, fn: any) => {
        if (event === "data") this.listeners = this.listeners.filter((l) => l !== fn);
      }),
      removeAllListeners: b.api((event?: any) => {
        if (event === undefined || event === "data") this.listeners = [];
      }),
      available: b.api(() => this.buffer.length),
      read: b.api((chars?: any) => {
        const n = chars === undefined ? this.buffer.length : Math.max(0, Number(chars));
        const out = this.buffer.slice(0, n);
        this.buffer = this.buffer.slice(n);
        return out;
      }),
      setConsole: b.api(() => {
        if (this.name === "Serial1" || this.name === "Bluetooth") b.console.setConsole(this.name);
      }),
      toString: () => this.name,
    };
  }
}

/** Serial1 (the console), Bluetooth and NRF when the chip has BLE, Serial2 and Serial3 */
export function installSerial(s: any, boot: EspruinoBoot): void {
  const con = boot.console;
  s.Serial1 = con.serial1.api();
  if (con.bluetooth) {
    s.Bluetooth = con.bluetooth.api();
    boot.ports.push(con.bluetooth);
    s.NRF = {
      on: boot.api((event: any, fn: any) => {
        if (event === "disconnect" && typeof fn === "function") con.nrfDisconnect.push(fn);
      }),
    };
  }
  for (const port of ["Serial2", "Serial3"]) {
    const p = new SerialPort(boot, port, boot.host.uarts[port]);
    boot.ports.push(p);
    s[port] = p.api();
  }
  boot.ports.push(con.serial1);
}
