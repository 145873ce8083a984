// One node's world: its street's air, noise, bin and lamp, under the city's sky and weather.
// Deterministic in (seed, sharedSeed, options, t): any query order, any number of times.

import type { PmLevels, WorldModel } from "./types.js";
import { forkSeed } from "../random.js";
import { AirModel, type AirOptions } from "./air.js";
import { NoiseModel, FAST_SLOT_MS, type NoiseOptions } from "./noise.js";
import { BinModel, type BinOptions } from "./bin.js";
import { Daylight, Lamp, type DaylightOptions, type LampOptions, DEFAULT_TZ_HOURS } from "./daylight.js";

export interface WorldOptions extends DaylightOptions {
  /**
   * seed of what the whole city shares (pollution episodes, clouds, temperature anomalies).
   * Give every node of a fleet the same one; defaults to the node's own seed.
   */
  sharedSeed?: number;
  air?: AirOptions;
  noise?: NoiseOptions;
  bin?: BinOptions;
  lamp?: LampOptions;
}

export class SimWorld implements WorldModel {
  readonly air: AirModel;
  readonly noise: NoiseModel;
  readonly bin: BinModel;
  readonly daylight: Daylight;
  readonly lamp: Lamp;
  /** NoiseModel.noiseDb is constant on each 125 ms slot */
  readonly noiseSlotMs = FAST_SLOT_MS;

  constructor(readonly seed: number, opts: WorldOptions = {}) {
    const shared = opts.sharedSeed ?? seed;
    const tzHours = opts.tzHours ?? DEFAULT_TZ_HOURS;
    this.air = new AirModel(forkSeed(seed, "air"), forkSeed(shared, "air"), { tzHours, ...opts.air });
    this.noise = new NoiseModel(forkSeed(seed, "noise"), { tzHours, ...opts.noise });
    this.bin = new BinModel(forkSeed(seed, "bin"), { tzHours, ...opts.bin });
    this.daylight = new Daylight(forkSeed(seed, "daylight"), forkSeed(shared, "sky"), opts);
    this.lamp = new Lamp(forkSeed(seed, "lamp"), opts.lamp);
  }

  pm(tMs: number): PmLevels {
    return this.air.pm(tMs);
  }
  noiseDb(tMs: number): number {
    return this.noise.noiseDb(tMs);
  }
  binDistanceMm(tMs: number): number {
    return this.bin.distanceMm(tMs);
  }
  temperatureC(tMs: number): number {
    return this.daylight.temperatureC(tMs);
  }
  lampCurrentA(tMs: number): number {
    return this.lamp.currentA(tMs);
  }
  daylightLux(tMs: number): number {
    return this.daylight.lux(tMs);
  }
}

export function createWorld(seed: number, options: WorldOptions = {}): SimWorld {
  return new SimWorld(seed, options);
}

export { AirModel, NoiseModel, BinModel, Daylight, Lamp };
export type { AirOptions, NoiseOptions, BinOptions, DaylightOptions, LampOptions };
