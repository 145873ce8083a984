// Sensirion-style CRC-8 (poly 0x31, init 0xFF, no reflection, no final XOR), used by the
// SPS30 and the DNMS after every 16-bit word. Check value: crc8([0xBE, 0xEF]) = 0x92.
export function crc8(bytes: ArrayLike<number>, start?: number, end?: number): number {
  let crc = 0xff;
  const from = start || 0;
  const to = end === undefined ? bytes.length : end;
  for (let i = from; i < to; i++) {
    crc ^= bytes[i] & 0xff;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}
