// Simulated PCB Artists I2C sound level module (register map from its programming manual, kept
// independent of drivers/pcb-spl.ts so a wrong constant there shows up in tests).
// Every Tavg ms it integrates the world's level energetically over that period, rounds it to
// whole dB (clamped to 35-120 dB) and updates DECIBEL, MIN/MAX and the 100-entry history.
// Periods are worked out lazily, on the next bus access, so no timer runs.
// Power: NACK without supply or for 5 ms after power-up; CONTROL bit 0 sleeps (still ACKs),
// RESET bit 3 wakes and restores defaults; levels read 0 until ~1 s after power-up or reset.
// Faults (acted on when set): unplugged = NACK; garbage = random read bytes; stuck = levels frozen;
// slowMs = levels stay 0 that much longer after power-up/reset. No checksum to break.

import type { I2cDevice } from "../hw/i2c.js";
import type { SimDevice, SimDeviceContext, SimDeviceFactory } from "./types.js";
import { noFaults, onFaultSet } from "./types.js";
import { stepEnergeticMean } from "./step-mean.js";

const REG_VERSION = 0x00;
const REG_ID3 = 0x01;
const REG_SCRATCH = 0x05;
const REG_CONTROL = 0x06;
const REG_TAVG_HIGH = 0x07;
const REG_TAVG_LOW = 0x08;
const REG_RESET = 0x09;
const REG_DECIBEL = 0x0a;
const REG_MIN = 0x0b;
const REG_MAX = 0x0c;
const REG_THR_MIN = 0x0d;
const REG_THR_MAX = 0x0e;
const REG_GAIN = 0x0f;
const REG_HISTORY_0 = 0x14;
const HISTORY_LEN = 100;
/** VERSION 0x31: hardware v3, firmware v1 (MEMS mic module) */
const VERSION = 0x31;
const CONTROL_DEFAULT = 0x02;
const TAVG_DEFAULT_MS = 1000;
/** ready for I2C within 5 ms of power-up (manual) */
const BOOT_MS = 5;
/** the decibel value takes about 1 s to stabilise after power-up (manual) */
const STABILISE_MS = 1000;
/** measurement range, dB (product sheet) */
const MIN_DB = 35;
const MAX_DB = 120;
/** Z/C weighting on street noise reads higher than A: low-frequency traffic energy (crude model) */
const UNWEIGHTED_EXCESS_DB = 6;
/** world samples per ms of averaging period: one every 50 ms, at least 4 per period */
const SAMPLE_EVERY_MS = 50;

export const createPcbSpl: SimDeviceFactory = (ctx: SimDeviceContext): SimDevice => {
  const { clock, pins, spec, world, rng } = ctx;
  if (spec.bus.kind !== "i2c" || !ctx.i2c) throw new Error(`pcb-spl "${spec.name}" needs an i2c bus`);
  const faults = noFaults();
  const power = spec.power;
  const id = [0, 1, 2, 3].map(() => Math.floor(rng() * 256));

  let wasSupplied = false;
  let bootAt = 0;
  let asleep = false;
  let control = CONTROL_DEFAULT;
  let tavg = TAVG_DEFAULT_MS;
  let tavgHigh = TAVG_DEFAULT_MS >> 8;
  let scratch = 0xaa;
  let thrMin = 45;
  let thrMax = 85;
  let gain = 18;
  let pointer = 0;
  let validFrom = 0;
  let periodStart = 0;
  let decibel = 0;
  let min = 0;
  let max = 0;
  // the history as a ring, newest at `histHead`: a period costs one store, not a 100-entry unshift
  const history: number[] = new Array(HISTORY_LEN).fill(0);
  let histHead = 0;
  let histCount = 0;
  const clearHistory = () => {
    histCount = 0;
  };

  const supplied = () => !faults.unplugged && (!power || pins.level(power.pin) === power.activeHigh);

  const softReset = (t: number) => {
    asleep = false;
    control = CONTROL_DEFAULT;
    tavg = TAVG_DEFAULT_MS;
    tavgHigh = TAVG_DEFAULT_MS >> 8;
    scratch = 0xaa;
    thrMin = 45;
    thrMax = 85;
    gain = 18;
    validFrom = t + STABILISE_MS + faults.slowMs;
    periodStart = t;
    decibel = min = max = 0;
    clearHistory();
  };

  /** notice a power cycle (supply pin or unplug fault) since the last look */
  const sync = () => {
    const now = supplied();
    if (now && !wasSupplied) {
      bootAt = clock.now();
      softReset(bootAt);
    }
    wasSupplied = now;
  };

  /** the samples of a period, reused (n of them are read) */
  const levels: number[] = [];
  const periodLevel = (from: number, to: number) => {
    const n = Math.max(4, Math.ceil((to - from) / SAMPLE_EVERY_MS));
    for (let i = 0; i < n; i++) levels[i] = world.noiseDb(from + ((i + 0.5) * (to - from)) / n);
    const weighting = (control >> 1) & 3;
    const db = stepEnergeticMean(levels, n) + (weighting === 1 ? 0 : UNWEIGHTED_EXCESS_DB);
    return Math.round(Math.min(MAX_DB, Math.max(MIN_DB, db)));
  };

  /** run every averaging period that has ended by now */
  const catchUp = () => {
    const now = clock.now();
    if (asleep) {
      periodStart = now;
      return;
    }
    while (periodStart + tavg <= now) {
      const end = periodStart + tavg;
      if (end >= validFrom && !faults.stuck) {
        decibel = periodLevel(periodStart, end);
        min = min ? Math.min(min, decibel) : decibel;
        max = max ? Math.max(max, decibel) : decibel;
        histHead = (histHead + HISTORY_LEN - 1) % HISTORY_LEN;
        history[histHead] = decibel;
        if (histCount < HISTORY_LEN) histCount++;
      }
      periodStart = end;
    }
  };

  const register = (reg: number): number => {
    if (reg === REG_VERSION) return VERSION;
    if (reg >= REG_ID3 && reg < REG_ID3 + 4) return id[reg - REG_ID3];
    if (reg >= REG_HISTORY_0 && reg < REG_HISTORY_0 + HISTORY_LEN) {
      const k = reg - REG_HISTORY_0;
      return k < histCount ? history[(histHead + k) % HISTORY_LEN] : 0;
    }
    switch (reg) {
      case REG_SCRATCH: return scratch;
      case REG_CONTROL: return control | (asleep ? 1 : 0);
      case REG_TAVG_HIGH: return tavg >> 8;
      case REG_TAVG_LOW: return tavg & 0xff;
      case REG_DECIBEL: return decibel;
      case REG_MIN: return min;
      case REG_MAX: return max;
      case REG_THR_MIN: return thrMin;
      case REG_THR_MAX: return thrMax;
      case REG_GAIN: return gain;
      default: return 0; // RESET is write-only; reserved locations read 0 here
    }
  };

  const store = (reg: number, value: number) => {
    const now = clock.now();
    switch (reg) {
      case REG_SCRATCH: scratch = value; break;
      case REG_CONTROL:
        control = value & 0xfe;
        if (value & 1) asleep = true; // writing 0 does not wake it
        break;
      case REG_TAVG_HIGH: tavgHigh = value; break;
      case REG_TAVG_LOW:
        tavg = Math.max(1, (tavgHigh << 8) | value);
        periodStart = now;
        break;
      case REG_RESET:
        if (value & 0x08) softReset(now);
        if (value & 0x04) clearHistory();
        if (value & 0x02) min = max = 0;
        break;
      case REG_THR_MIN: thrMin = value; break;
      case REG_THR_MAX: thrMax = value; break;
      case REG_GAIN: gain = value; break;
      default: break; // read-only or reserved
    }
  };

  const device: I2cDevice = {
    address: spec.bus.address,
    present() {
      sync();
      return supplied() && clock.now() >= bootAt + BOOT_MS;
    },
    write(data: Uint8Array) {
      sync();
      catchUp();
      if (!data.length) return;
      pointer = data[0];
      for (let i = 1; i < data.length; i++) store(pointer++ & 0xff, data[i]);
    },
    read(length: number) {
      sync();
      catchUp();
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = faults.garbage ? Math.floor(rng() * 256) : register(pointer++ & 0xff);
      return out;
    },
  };
  ctx.i2c.attach(device);
  if (power) pins.onChange(power.pin, sync);
  // act on fault changes when they happen, not at the next bus access
  onFaultSet(faults, "unplugged", { after: sync });
  onFaultSet(faults, "stuck", {
    before: () => {
      if (wasSupplied) catchUp(); // levels up to now were measured normally
    },
  });
  sync();

  return {
    model: "pcb-spl",
    faults,
    currentMa: () => {
      sync();
      if (!supplied()) return faults.unplugged ? 0 : spec.currentMa.off;
      return asleep ? spec.currentMa.off : spec.currentMa.on;
    },
    active: () => {
      sync();
      return supplied() && !asleep;
    },
  };
};
