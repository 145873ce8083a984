// CRC-32 as Espruino's E.CRC32 computes it (IEEE 802.3, reflected, as zlib): the simulator's
// E.CRC32, and the host tools that check what they wrote to a node's flash against it.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of bytes, or of a string's chars as Latin-1 bytes (what E.CRC32 does with a String); unsigned */
export function crc32(data: Uint8Array | string): number {
  const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
