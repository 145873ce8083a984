// How a boot ends from inside firmware code: deep sleep, reset, power cut and out of memory
// throw HALT, which unwinds the firmware's stack without being reported as an error.

/** thrown to unwind firmware code when the chip stops (deep sleep, reset, power cut, OOM) */
export class NodeHalted {
  readonly halted = true;
  toString(): string {
    return "(node halted)";
  }
}
export const HALT = new NodeHalted();

/** the chip resets (E.reboot(), ESP32.reboot(), load()): the calling code never returns */
export function softwareReset(host: { reset(cause: "software"): void }): never {
  host.reset("software");
  throw HALT;
}
