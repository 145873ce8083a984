// I2C1 seen from the firmware, over the node's SimI2C bus.

import type { EspruinoBoot } from "./context.js";
import { fromLatin1 } from "./storage.js";

export function installI2C(s: any, boot: EspruinoBoot): void {
  const i2c = boot.host.i2c;
  const flatten = (parts: any[]): Uint8Array => {
    const out: number[] = [];
    const add = (v: any) => {
      if (typeof v === "number") out.push(v & 0xff);
      else if (typeof v === "string") for (const b of fromLatin1(v)) out.push(b);
      else if (v && typeof v.length === "number") for (let i = 0; i < v.length; i++) add(v[i]);
      else if (v && typeof v === "object" && v.data !== undefined) for (let n = 0; n < (v.count ?? 1); n++) add(v.data);
    };
    for (const p of parts) add(p);
    return Uint8Array.from(out);
  };
  const addr = (a: any) => (typeof a === "object" && a ? Number(a.address) : Number(a));
  s.I2C1 = {
    setup: boot.api((options?: any) => i2c.setup(options)),
    writeTo: boot.api((address: any, ...data: any[]) => i2c.writeTo(addr(address), flatten(data))),
    readFrom: boot.api((address: any, quantity: any) => boot.u8(i2c.readFrom(addr(address), Number(quantity)))),
  };
}
