// Espruino's Pin objects (D0..D39) and pin functions (digitalWrite, analogRead, digitalPulse,
// setWatch...) over the node's PinBank.

import type { PinBank } from "../hw/pins.js";
import { pinName } from "../hw/pins.js";
import type { EspruinoBoot } from "./context.js";

export const PIN_COUNT = 40;

/** ADC1 channels of the ESP32 (the only ADC Espruino reads while Wi-Fi may be on): D32..D39 */
const ADC1: { [pin: number]: number } = { 36: 0, 37: 1, 38: 2, 39: 3, 32: 4, 33: 5, 34: 6, 35: 7 };

export interface PinApi {
  digitalWrite(pin: any, v: any): void;
  digitalRead(pin: any): number;
  pinMode(pin: any, mode: any, automatic?: any): void;
  getPinMode(pin: any): string;
}

/** one Pin object; its methods go through the boot's guarded API */
export class EspruinoPin {
  constructor(readonly name: string, private api: PinApi) {
    Object.defineProperty(this, "api", { enumerable: false });
  }

  read(): boolean {
    return this.api.digitalRead(this) === 1;
  }

  write(value: any): void {
    this.api.digitalWrite(this, value ? 1 : 0);
  }

  set(): void {
    this.api.digitalWrite(this, 1);
  }

  reset(): void {
    this.api.digitalWrite(this, 0);
  }

  toggle(): boolean {
    const v = !this.read();
    this.api.digitalWrite(this, v ? 1 : 0);
    return v;
  }

  mode(m: any): void {
    this.api.pinMode(this, m);
  }

  getMode(): string {
    return this.api.getPinMode(this);
  }

  getInfo(): any {
    const num = Number(this.name.slice(1));
    const info: any = { port: "D", num, functions: {} };
    if (ADC1[num] !== undefined) info.analog = { ADC: 1, channel: ADC1[num] };
    return info;
  }

  toString(): string {
    return this.name;
  }

  toJSON(): string {
    return this.name;
  }
}

/** the pin globals: D0..D39, Pin(), digitalWrite/Read, pinMode, analogRead, digitalPulse, setWatch/clearWatch */
export function installPins(s: any, boot: EspruinoBoot): void {
  const host = boot.host;
  const pins: PinBank = host.pins;
  const api = <T extends (...a: any[]) => any>(f: T) => boot.api(f);
  const toPin = (ref: any) => {
    const name = pinName(ref);
    if (!/^D\d+$/.test(name) || Number(name.slice(1)) >= PIN_COUNT) throw boot.error(`Invalid pin: ${String(ref)}`);
    return name;
  };
  const pinApi = {
    digitalWrite: api((pin: any, value: any) => {
      const name = toPin(pin);
      host.touchPin(name, true);
      pins.digitalWrite(name, typeof value === "boolean" ? value : Number(value) !== 0 && !Number.isNaN(Number(value)));
      host.beforeEvent?.(); // a switched device may have started or stopped: trace it now
    }),
    digitalRead: api((pin: any) => pins.digitalRead(toPin(pin))),
    pinMode: api((pin: any, mode: any, _automatic?: any) => {
      const name = toPin(pin);
      host.touchPin(name, false);
      pins.pinMode(name, (mode ?? "auto") as PinMode);
    }),
    getPinMode: api((pin: any) => pins.mode(toPin(pin)) ?? "input"),
  };
  const pinObjects: EspruinoPin[] = [];
  for (let i = 0; i < PIN_COUNT; i++) {
    const p = new EspruinoPin("D" + i, pinApi);
    pinObjects.push(p);
    s["D" + i] = p;
  }
  s.Pin = function Pin(v: any) {
    try {
      const name = pinName(typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v);
      const m = /^D(\d+)$/.exec(name);
      return m && Number(m[1]) < PIN_COUNT ? pinObjects[Number(m[1])] : undefined;
    } catch {
      return undefined;
    }
  };
  s.digitalWrite = pinApi.digitalWrite;
  s.digitalRead = pinApi.digitalRead;
  s.pinMode = pinApi.pinMode;
  s.getPinMode = pinApi.getPinMode;
  s.analogRead = api((pin: any) => pins.analogRead(toPin(pin)));
  s.digitalPulse = api((pin: any, value: any, time: any) => {
    const name = toPin(pin);
    host.touchPin(name, true);
    const times = Array.isArray(time) || ArrayBuffer.isView(time) ? Array.prototype.slice.call(time).map(Number) : Number(time);
    pins.digitalPulse(name, !!value, times as number | number[]);
  });
  const watches = boot.watches;
  s.setWatch = api((fn: any, pin: any, options?: any) => {
    if (typeof fn !== "function" && typeof fn !== "string") throw boot.error("Function or String not supplied!");
    const name = toPin(pin);
    const pinObj = pinObjects[Number(name.slice(1))];
    const offsetS = () => (host.rtcNow() - host.clock.now()) / 1000;
    const opts = typeof options === "object" && options ? { repeat: !!options.repeat, edge: options.edge ?? "both", debounce: options.debounce } : options;
    let id = 0;
    id = pins.setWatch(
      (e) => {
        if (!(opts && opts.repeat)) watches.delete(id);
        const off = offsetS();
        const ev = new boot.realm.Object() as any;
        ev.state = e.state;
        ev.time = e.time + off;
        ev.lastTime = e.lastTime + off;
        ev.pin = pinObj;
        boot.invoke(fn, undefined, [ev]);
      },
      name,
      opts,
    );
    watches.add(id);
    return id;
  });
  s.clearWatch = api((...args: any[]) => {
    if (args.length === 0) {
      clearWatches(boot);
      return;
    }
    const id = args[0];
    if (id === undefined) throw boot.error("clearWatch(undefined) not allowed. Use clearWatch() instead");
    pins.clearWatch(Number(id));
    watches.delete(Number(id));
  });
}

/** clearWatch(): every watch of the boot */
function clearWatches(boot: EspruinoBoot): void {
  for (const id of boot.watches) boot.host.pins.clearWatch(id);
  boot.watches.clear();
}
