// Simulated DNMS (Sensor.Community noise sensor, Teensy 4.0 firmware V6 as published in
// github.com/hbitter/DNMS): an I2C slave at 0x55 taking 16-bit commands, MSB first.
// It cuts the world's level into ~93 ms frames (4096 samples at 44.1 kHz), each frame's level
// being the energetic mean of the world over it; "calculate Leq" (3) closes the interval: LAeq =
// energetic mean of its frames, LAmin/LAmax = extremes of the frame levels. Data-ready (4) turns
// 1 when the interval is closed (at once if it holds frames, else after the next frame);
// 5 returns LAeq, LAmin, LAmax as float32 words with CRCs and then zeroes them, as the firmware does.
// Frames are worked out lazily on bus access, so no timer runs.
// Faults: unplugged = NACK; garbage = random read bytes; badChecksum = every CRC wrong;
// stuck = the values of the last interval closed before the fault repeat;
// slowMs = data-ready that much later. unplugged and stuck act when set, not at the next access.

import type { I2cDevice } from "../hw/i2c.js";
import type { SimDevice, SimDeviceContext, SimDeviceFactory } from "./types.js";
import { noFaults, onFaultSet } from "./types.js";
import { crc8 } from "../../drivers/crc8.js";
import { stepEnergeticMean } from "./step-mean.js";

/** one FFT frame: 4096 samples at 44.1 kHz, ms */
export const DNMS_FRAME_MS = (4096 / 44100) * 1000;
/** Teensy 4.0 start-up before the I2C slave answers (approximate) */
export const DNMS_BOOT_MS = 400;
/** frames thrown away after start-up (FFT_CALCULATIONS_IN_START_PHASE) */
const START_PHASE_FRAMES = 44;
/** loop() closes the interval within a pass once frames are in */
const FINALIZE_MS = 1;
const WORLD_SAMPLES_PER_FRAME = 4;
const VERSION_TEXT = "DNMS Version 6.0.x ";

const CMD_RESET = 1;
const CMD_VERSION = 2;
const CMD_CALCULATE = 3;
const CMD_DATA_READY = 4;
const CMD_READ_LEQ = 5;
/** microphone selects (27-31): set_microphone() ends in DNMS_reset() */
const CMD_MIC_FIRST = 27;
const CMD_MIC_LAST = 31;

interface Triplet {
  leq: number;
  min: number;
  max: number;
}

export const createDnms: SimDeviceFactory = (ctx: SimDeviceContext): SimDevice => {
  const { clock, pins, spec, world, rng } = ctx;
  if (spec.bus.kind !== "i2c" || !ctx.i2c) throw new Error(`dnms "${spec.name}" needs an i2c bus`);
  const faults = noFaults();
  const power = spec.power;

  let wasSupplied = false;
  let bootAt = 0;
  /** start of the first frame that counts (after the start phase) */
  let measuringFrom = 0;
  /** start of the next frame not yet looked at */
  let frameCursor = 0;
  let sumEnergy = 0;
  let frames = 0;
  let frameMin = 0;
  let frameMax = 0;
  let calcPending = false;
  let finalizeAt = 0;
  let dataReady = 0;
  let last: Triplet = { leq: 0, min: 0, max: 0 };
  /** what the next read-Leq returns while stuck: the last interval closed before the fault */
  let held: Triplet | undefined;
  let state = 0;

  const supplied = () => !faults.unplugged && (!power || pins.level(power.pin) === power.activeHigh);

  const clearAccumulators = () => {
    sumEnergy = 0;
    frames = 0;
    frameMin = frameMax = 0;
  };

  const sync = () => {
    const on = supplied();
    if (on && !wasSupplied) {
      bootAt = clock.now();
      frameCursor = bootAt + DNMS_BOOT_MS;
      measuringFrom = frameCursor + START_PHASE_FRAMES * DNMS_FRAME_MS;
      clearAccumulators();
      calcPending = false;
      dataReady = 0;
      last = { leq: 0, min: 0, max: 0 };
      state = 0;
    }
    wasSupplied = on;
  };

  // hot path: a mains noise node runs ~930k frames a day. The world's level is a step function
  // (125 ms slots), so most frames see one level: their energetic mean is that level exactly
  // (10*log10(4/4) = 0); a frame across a step takes the mean by runs (step-mean.ts).
  const levels: number[] = new Array(WORLD_SAMPLES_PER_FRAME);
  let memoLevel = NaN;
  let memoEnergy = 0;
  // A world that says its level steps on slots (noiseSlotMs) is asked once for a frame whose
  // first and last sample instants share a slot: the four samples would be that one number.
  // The instants are the loop's own expressions, so the slot test sees the same floats.
  const slotMs = world.noiseSlotMs;
  const frameLevel = (from: number): number => {
    if (slotMs !== undefined) {
      const first = from + (0.5 * DNMS_FRAME_MS) / WORLD_SAMPLES_PER_FRAME;
      const lastAt = from + ((WORLD_SAMPLES_PER_FRAME - 0.5) * DNMS_FRAME_MS) / WORLD_SAMPLES_PER_FRAME;
      if (Math.floor(first / slotMs) === Math.floor(lastAt / slotMs)) {
        const level = world.noiseDb(first);
        if (Number.isFinite(level)) return level;
      }
    }
    let same = true;
    for (let i = 0; i < WORLD_SAMPLES_PER_FRAME; i++) {
      levels[i] = world.noiseDb(from + ((i + 0.5) * DNMS_FRAME_MS) / WORLD_SAMPLES_PER_FRAME);
      if (levels[i] !== levels[0]) same = false;
    }
    return same && Number.isFinite(levels[0]) ? levels[0] : stepEnergeticMean(levels);
  };

  /** take in every frame that has ended by `until` */
  const accumulate = (until: number) => {
    while (frameCursor + DNMS_FRAME_MS <= until) {
      if (frameCursor >= measuringFrom) {
        const level = frameLevel(frameCursor);
        if (level !== memoLevel) {
          memoLevel = level;
          memoEnergy = Math.pow(10, level / 10);
        }
        sumEnergy += memoEnergy;
        frameMin = frames ? Math.min(frameMin, level) : level;
        frameMax = frames ? Math.max(frameMax, level) : level;
        frames++;
      }
      frameCursor += DNMS_FRAME_MS;
    }
  };

  /** close a pending interval once its time has come */
  const finalize = () => {
    const now = clock.now();
    while (calcPending && finalizeAt <= now) {
      accumulate(finalizeAt);
      if (!frames) {
        // nothing measured yet (start phase): wait for the next frame
        finalizeAt = Math.max(frameCursor, measuringFrom) + DNMS_FRAME_MS + faults.slowMs;
        continue;
      }
      const fresh: Triplet = {
        leq: Math.fround(10 * Math.log10(sumEnergy / frames)),
        min: Math.fround(frameMin),
        max: Math.fround(frameMax),
      };
      if (!faults.stuck || !held) held = fresh;
      last = held;
      clearAccumulators();
      calcPending = false;
      dataReady = 1;
    }
  };

  const reset = () => {
    const now = clock.now();
    // frames that ended before the reset are dropped; the one under way counts for the new interval
    const t0 = bootAt + DNMS_BOOT_MS;
    if (now > frameCursor) frameCursor = t0 + Math.floor((now - t0) / DNMS_FRAME_MS) * DNMS_FRAME_MS;
    // a reset also ends the start phase (DNMS_reset is followed by start_phase = false)
    measuringFrom = Math.min(measuringFrom, frameCursor);
    clearAccumulators();
    calcPending = false;
    dataReady = 0;
  };

  const words = (values: number[]): number[] => {
    const out: number[] = [];
    for (const w of values) {
      const hi = (w >> 8) & 0xff;
      const lo = w & 0xff;
      const crc = crc8([hi, lo]);
      out.push(hi, lo, faults.badChecksum ? crc ^ 0xa5 : crc);
    }
    return out;
  };

  const floatWords = (values: number[]): number[] => {
    const view = new DataView(new ArrayBuffer(4));
    const out: number[] = [];
    for (const v of values) {
      view.setFloat32(0, v, false);
      out.push(view.getUint16(0, false), view.getUint16(2, false));
    }
    return out;
  };

  const reply = (): number[] => {
    switch (state) {
      case CMD_VERSION: {
        const text = VERSION_TEXT + "\0";
        const w: number[] = [];
        for (let i = 0; i + 1 < text.length; i += 2) w.push((text.charCodeAt(i) << 8) | text.charCodeAt(i + 1));
        return words(w);
      }
      case CMD_DATA_READY:
        return words([dataReady]);
      case CMD_READ_LEQ: {
        const out = words(floatWords([last.leq, last.min, last.max]));
        last = { leq: 0, min: 0, max: 0 };
        return out;
      }
      default:
        return []; // nothing pending: the slave sends nothing
    }
  };

  const device: I2cDevice = {
    address: spec.bus.address,
    present() {
      sync();
      return supplied() && clock.now() >= bootAt + DNMS_BOOT_MS;
    },
    write(data: Uint8Array) {
      sync();
      finalize();
      state = 0;
      if (data.length < 2) return;
      const cmd = (data[0] << 8) | data[1];
      if (cmd === CMD_RESET || (cmd >= CMD_MIC_FIRST && cmd <= CMD_MIC_LAST)) reset();
      else if (cmd === CMD_CALCULATE) {
        accumulate(clock.now());
        dataReady = 0;
        calcPending = true;
        const next = frames ? clock.now() + FINALIZE_MS : Math.max(frameCursor, measuringFrom) + DNMS_FRAME_MS;
        finalizeAt = next + faults.slowMs;
      } else if (cmd === CMD_VERSION || cmd === CMD_DATA_READY || cmd === CMD_READ_LEQ) state = cmd;
    },
    read(length: number) {
      sync();
      finalize();
      const bytes = reply();
      state = 0;
      const out = new Uint8Array(length).fill(0xff);
      for (let i = 0; i < length; i++) {
        if (faults.garbage) out[i] = Math.floor(rng() * 256);
        else if (i < bytes.length) out[i] = bytes[i];
      }
      return out;
    },
  };
  ctx.i2c.attach(device);
  if (power) pins.onChange(power.pin, sync);
  // act on fault changes when they happen, not at the next bus access
  onFaultSet(faults, "unplugged", { after: sync });
  onFaultSet(faults, "stuck", {
    before: () => {
      if (wasSupplied) finalize(); // an interval due before the fault closes normally
    },
  });
  sync();

  return {
    model: "dnms",
    faults,
    currentMa: () => {
      if (faults.unplugged) return 0;
      return supplied() ? spec.currentMa.on : spec.currentMa.off;
    },
    active: () => supplied(),
  };
};
