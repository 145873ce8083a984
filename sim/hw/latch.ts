// A latched supply switch (firmware/board.ts DeviceSpec.power.offPin): a D flip-flop on the
// board's always-on rail drives the device's MOSFET. A rising edge on the set pin switches the
// supply on, one on the clear pin off; both pins are pulled low, so a chip that deep-sleeps or
// resets (its pins floating) leaves the supply as it was. Only losing the board's power clears it.
// The device's twin sees the latch's output as its supply pin (the net `latch:<device>`).

import type { PinBank } from "./pins.js";

export class LatchedSupply {
  /** the net the latch drives: what the device's twin reads as its supply pin */
  readonly net: string;
  private on = false;

  constructor(private pins: PinBank, setPin: string, clearPin: string, device: string) {
    this.net = "latch:" + device;
    for (const [pin, to] of [[setPin, true], [clearPin, false]] as const) {
      pins.pull(pin, false);
      let was = pins.level(pin);
      pins.onChange(pin, (high) => {
        if (high && !was) this.set(to);
        was = high;
      });
    }
    pins.drive(this.net, false);
  }

  get isOn(): boolean {
    return this.on;
  }

  /** the board lost its power (a power cut): the flip-flop forgets */
  powerLost(): void {
    this.set(false);
  }

  private set(on: boolean): void {
    this.on = on;
    this.pins.drive(this.net, on);
  }
}
