// Shared by the OTA tests (test/firmware/ota/): Node's CRC-32 and SHA-256 on binary strings, bundles, keys, and a
// Storage that cuts the power inside its n-th flash write.
import { crc32 } from "node:zlib";
import { createHash } from "node:crypto";
import { SimStorage, PowerLostError } from "../../sim/espruino/storage.js";
import { signManifest, type Manifest } from "../../firmware/ota/manifest.js";
import { selectBoot, selectorInstalled, readRecord, writeRecord } from "../../firmware/ota/boot.js";

export const crc = (s: string) => crc32(Buffer.from(s, "latin1"));
export const sha256 = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("binary");
export const shaHex = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("hex");
export const KEY = "11".repeat(32);

/** bytes of a pseudo bundle; runs of 0xFF on purpose (a torn write's tail looks like them) */
export function bundle(size: number, seed: number): string {
  let x = seed >>> 0 || 1, out = "";
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += String.fromCharCode(i % 97 < 6 ? 0xff : x >>> 24);
  }
  return out;
}

export function manifestFor(b: string, over: Partial<Manifest> = {}): Manifest {
  return { ctr: 1000, ts: 1768435235, board: "esp32-bin", fw: "0.2.0", size: b.length, cs: 256, sha: shaHex(b), down: 0, ...over };
}

export function signed(node: string, m: Manifest, key = KEY): string {
  return signManifest(node, key, m, sha256);
}

/**
 * A SimStorage whose flash writes are counted; the `cutAt`-th (1-based) is torn at `frac` of
 * its bytes, and from then on every call fails as a dead chip would. revive() powers it up.
 */
export class CutStorage {
  readonly flash: SimStorage;
  writes = 0;
  dead = false;
  cutAt = 0;
  frac = 0.5;
  readonly s: StorageModule;

  constructor(sizeBytes = 256 * 1024) {
    this.flash = new SimStorage({ sizeBytes });
    const self = this;
    this.s = new Proxy(this.flash, {
      get(t, p) {
        const v = (t as any)[p];
        if (typeof v !== "function") return v;
        return (...a: any[]) => {
          if (self.dead) throw new PowerLostError();
          if (p === "write" || p === "erase" || p === "writeJSON") {
            self.writes++;
            if (self.writes === self.cutAt) t.armTear(() => self.frac, () => (self.dead = true));
          }
          try {
            return v.apply(t, a);
          } finally {
            t.disarmTear();
          }
        };
      },
    }) as unknown as StorageModule;
  }

  revive(): void {
    this.dead = false;
    this.cutAt = 0;
  }
}

/**
 * What Espruino boots: .boot0 runs only if there is a whole selector there (a torn one is a
 * syntax error), and .bootcde after it if it still exists. The file whose code runs, or throws.
 */
export function espruinoBoot(s: StorageModule): string {
  const pick = selectorInstalled(s) ? selectBoot(s, crc, readRecord, writeRecord) : "";
  if (pick) return pick;
  if (s.read(".bootcde") === undefined) throw new Error("nothing to boot: no slot chosen and no .bootcde");
  return ".bootcde";
}
