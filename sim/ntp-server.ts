// The simulated world's NTP server: an SNTP server reply (RFC 4330 section 5, wire format of
// RFC 5905 section 7.3) to a client request, stamped with the true time. Written from the RFCs
// alone, not from the firmware's client, so that the client's parser is tested against an
// independent implementation.
//
// Packet (48 bytes, big-endian):
//   0 LI(2 bits) VN(3) Mode(3) | 1 Stratum | 2 Poll | 3 Precision (signed log2 s)
//   4 Root Delay (16.16 s) | 8 Root Dispersion (16.16 s) | 12 Reference ID
//   16 Reference Timestamp | 24 Originate Timestamp | 32 Receive Timestamp | 40 Transmit Timestamp
// A timestamp is 32 bits of seconds since 1900-01-01 (modulo 2^32: era 1 starts in 2036) and 32
// bits of fraction.

export const NTP_PACKET_BYTES = 48;
/** seconds from 1900-01-01 (NTP's epoch) to 1970-01-01 (Unix's) */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;
export const NTP_MODE_CLIENT = 3;
export const NTP_MODE_SERVER = 4;
export const SIM_NTP_STRATUM = 2;
/** 2^-20 s, about a microsecond: a server with a good clock (0xEC as a signed byte) */
export const SIM_NTP_PRECISION = -20;
/** stratum 2: the reference id is the IPv4 address of the server's own source (a stratum 1, here one in TEST-NET-3) */
export const SIM_NTP_REF_ID = [203, 0, 113, 1] as const;
/** to the stratum-1 source and back, in 16.16 seconds: 1/64 s */
export const SIM_NTP_ROOT_DELAY = 0x0000_0400;
/** the server's error bound against that source, 16.16 seconds: 1/128 s */
export const SIM_NTP_ROOT_DISPERSION = 0x0000_0200;
/** the server set its clock from its source at most this long before a request, ms */
const REFERENCE_PERIOD_MS = 64_000;

/** bytes of a request: a Buffer / Uint8Array, or an Espruino binary string (one char per byte) */
export type NtpPacketLike = Uint8Array | string;

function bytesOf(p: NtpPacketLike): Uint8Array {
  if (typeof p !== "string") return p;
  const b = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) b[i] = p.charCodeAt(i) & 0xff;
  return b;
}

/** write epoch ms as an NTP timestamp at buf[offset..offset+8] */
export function writeNtpTimestamp(buf: Uint8Array, offset: number, epochMs: number): void {
  const whole = Math.floor(epochMs / 1000);
  const fraction = Math.min(0xffff_ffff, Math.floor(((epochMs - whole * 1000) / 1000) * 2 ** 32));
  const seconds = (((whole + NTP_UNIX_OFFSET_S) % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  v.setUint32(offset, seconds);
  v.setUint32(offset + 4, fraction);
}

/** an NTP timestamp at p[offset..offset+8] as epoch ms, read as RFC 4330 section 3 says: 1968-2104 */
export function readNtpTimestamp(p: NtpPacketLike, offset: number): number {
  const b = bytesOf(p);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const seconds = v.getUint32(offset), fraction = v.getUint32(offset + 4);
  // high bit clear: 2036-2104 (era 1)
  const era = seconds < 0x8000_0000 ? 2 ** 32 : 0;
  return (seconds + era - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 2 ** 32) * 1000;
}

/**
 * The server's 48-byte reply to `request` (mode 4, VN and poll copied, originate = the request's
 * transmit timestamp), with receive and transmit timestamps at `trueMs` (epoch ms, the world's
 * true time: the server processes in no time). null for what is not a client request (shorter
 * than 48 bytes, mode other than 3, version outside 1-4): a server ignores it. Bytes past 48
 * (extension fields, a MAC) are ignored.
 */
export function ntpServerReply(request: NtpPacketLike, trueMs: number): Buffer | null {
  const q = bytesOf(request);
  if (q.length < NTP_PACKET_BYTES) return null;
  const version = (q[0] >> 3) & 7, mode = q[0] & 7;
  if (mode !== NTP_MODE_CLIENT || version < 1 || version > 4) return null;
  const r = Buffer.alloc(NTP_PACKET_BYTES);
  r[0] = (0 << 6) | (version << 3) | NTP_MODE_SERVER; // LI 0: no leap second pending
  r[1] = SIM_NTP_STRATUM;
  r[2] = q[2];
  r[3] = SIM_NTP_PRECISION & 0xff;
  r.writeUInt32BE(SIM_NTP_ROOT_DELAY, 4);
  r.writeUInt32BE(SIM_NTP_ROOT_DISPERSION, 8);
  r.set(SIM_NTP_REF_ID, 12);
  writeNtpTimestamp(r, 16, Math.floor(trueMs / REFERENCE_PERIOD_MS) * REFERENCE_PERIOD_MS);
  r.set(q.subarray(40, 48), 24);
  writeNtpTimestamp(r, 32, trueMs);
  writeNtpTimestamp(r, 40, trueMs);
  return r;
}
