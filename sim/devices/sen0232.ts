// Simulated DFRobot SEN0232: drives the analog pin named in spec.bus ("signal", or the only pin)
// with the world's A-weighted fast level as dBA / 50 V, clamped to the 0.6-2.6 V output range.
// world.noiseDb() is already fast (125 ms) weighted, which is the sensor's own time
// characteristic, so the level is passed straight through; after power-up the output rises
// toward it with the 125 ms time constant, so early reads come out low.
// Faults: unplugged = 0 V; garbage = random voltage each update; stuck = frozen voltage.

import type { SimDevice, SimDeviceContext, SimDeviceFactory } from "./types.js";
import { noFaults } from "./types.js";
import { ADC_FULL_SCALE_V } from "../hw/pins.js";

/** dBA per volt (datasheet) */
const DB_PER_V = 50;
/** output range 0.6-2.6 V = 30-130 dBA (datasheet) */
const MIN_DB = 30;
const MAX_DB = 130;
/** time characteristic, ms (datasheet) */
const TIME_CONSTANT_MS = 125;
/** how often the pin voltage follows the world; the driver samples every 125 ms */
export const SEN0232_UPDATE_MS = 50;

export const createSen0232: SimDeviceFactory = (ctx: SimDeviceContext): SimDevice => {
  const { clock, pins, spec, world, rng } = ctx;
  if (spec.bus.kind !== "pins") throw new Error(`sen0232 "${spec.name}" needs a pins bus`);
  const roles = spec.bus.pins;
  const pin = roles.signal ?? roles.out ?? roles.analog ?? Object.values(roles)[0];
  if (!pin) throw new Error(`sen0232 "${spec.name}": no signal pin in spec.bus.pins`);
  const faults = noFaults();
  const power = spec.power;
  let poweredAt = clock.now();
  let volts = 0;
  let timer: number | undefined;

  const supplied = () => !power || pins.level(power.pin) === power.activeHigh;

  const update = () => {
    timer = undefined;
    if (!supplied()) {
      volts = 0;
      pins.setVoltage(pin, 0);
      return; // restarted by the power pin
    }
    if (faults.unplugged) volts = 0;
    else if (faults.garbage) volts = rng() * ADC_FULL_SCALE_V;
    else if (!faults.stuck) {
      const t = clock.now();
      const db = Math.min(MAX_DB, Math.max(MIN_DB, world.noiseDb(t)));
      const settled = 1 - Math.exp(-(t - poweredAt) / TIME_CONSTANT_MS);
      volts = (db / DB_PER_V) * settled;
    }
    pins.setVoltage(pin, volts);
    timer = clock.setTimeout(update, SEN0232_UPDATE_MS);
  };

  if (power) {
    pins.onChange(power.pin, () => {
      if (supplied()) poweredAt = clock.now();
      clock.clearTimeout(timer);
      update();
    });
  }
  // a sensor that is on when the node boots has long settled
  poweredAt = clock.now() - 20 * TIME_CONSTANT_MS;
  update();

  return {
    model: "sen0232",
    faults,
    currentMa: () => (!supplied() ? spec.currentMa.off : faults.unplugged ? 0 : spec.currentMa.on),
    active: () => supplied() && !faults.unplugged,
  };
};
