// Espruino's Pin objects (D0..D39) over a PinBank.

import type { PinBank } from "../hw/pins.js";

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
