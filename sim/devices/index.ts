// Which simulated twin stands behind each DeviceSpec.model of a board profile.

import type { SimDevice, SimDeviceContext, SimDeviceFactory } from "./types.js";
import { createPms5003 } from "./pms5003.js";
import { createSds011 } from "./sds011.js";
import { createSps30 } from "./sps30.js";
import { createSen0232 } from "./sen0232.js";
import { createPcbSpl } from "./pcb-spl.js";
import { createDnms } from "./dnms.js";
import { createA02yyuw } from "./a02yyuw.js";
import { createHcSr04 } from "./hcsr04.js";
import { createRelay } from "./relay.js";

export const DEVICE_FACTORIES: { readonly [model: string]: SimDeviceFactory } = {
  pms5003: createPms5003,
  sds011: createSds011,
  sps30: createSps30,
  sen0232: createSen0232,
  "pcb-spl": createPcbSpl,
  dnms: createDnms,
  a02yyuw: createA02yyuw,
  hcsr04: createHcSr04,
  relay: createRelay,
};

export class UnknownDeviceError extends Error {
  constructor(model: string) {
    super(`no simulated device for model "${model}" (known: ${Object.keys(DEVICE_FACTORIES).join(", ")})`);
    this.name = "UnknownDeviceError";
  }
}

export function createDevice(ctx: SimDeviceContext): SimDevice {
  const factory = DEVICE_FACTORIES[ctx.spec.model];
  if (!factory) throw new UnknownDeviceError(ctx.spec.model);
  return factory(ctx);
}
