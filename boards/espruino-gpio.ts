// The drivers' Gpio over Espruino's pin functions. Pins are Espruino Pin objects: Pin("D16").

import type { Gpio } from "../drivers/types.js";

export function espruinoGpio(): Gpio {
  return {
    write: function (pin: PinRef, high: boolean) {
      digitalWrite(pin, high);
    },
    read: function (pin: PinRef) {
      return !!digitalRead(pin);
    },
    mode: function (pin: PinRef, mode: PinMode) {
      pinMode(pin, mode);
    },
    analog: function (pin: PinRef) {
      return analogRead(pin);
    },
    pulse: function (pin: PinRef, high: boolean, ms: number) {
      digitalPulse(pin, high, ms);
    },
    watch: function (pin: PinRef, callback: (e: WatchEvent) => void, options: WatchOptions) {
      return setWatch(callback, pin, options);
    },
    unwatch: function (id: number) {
      clearWatch(id);
    },
  };
}
