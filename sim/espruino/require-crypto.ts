// require("crypto") on the Linux build: the SHA digests, each returning an ArrayBuffer.

import { createHash } from "node:crypto";
import type { EspruinoBoot } from "./context.js";
import { fromLatin1 } from "./storage.js";

export function cryptoModule(boot: EspruinoBoot): any {
  const digest = (alg: string) =>
    boot.api((data: any) => {
      const bytes = typeof data === "string" ? fromLatin1(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : Uint8Array.from(data ?? [], (x: any) => Number(x) & 0xff);
      const h = createHash(alg).update(bytes).digest();
      return boot.u8(new Uint8Array(h)).buffer;
    });
  return { SHA1: digest("sha1"), SHA224: digest("sha224"), SHA256: digest("sha256"), SHA384: digest("sha384"), SHA512: digest("sha512") };
}
