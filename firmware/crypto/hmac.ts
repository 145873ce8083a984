// HMAC-SHA256 (RFC 2104) over an injected SHA-256, on binary strings (one char per byte).
// Espruino has require("crypto").SHA256 but no HMAC; the board wraps it (ArrayBuffer ->
// string with E.toString), Node passes crypto.createHash. Checked against RFC 4231 vectors.

/** raw SHA-256: binary string in, 32-char binary string out */
export type Sha256 = (data: string) => string;

const BLOCK = 64;

export function hmacSha256(sha256: Sha256, key: string, message: string): string {
  if (key.length > BLOCK) key = sha256(key);
  var ipad = "", opad = "";
  for (var i = 0; i < BLOCK; i++) {
    var k = i < key.length ? key.charCodeAt(i) : 0;
    ipad += String.fromCharCode(k ^ 0x36);
    opad += String.fromCharCode(k ^ 0x5c);
  }
  return sha256(opad + sha256(ipad + message));
}

export function toHex(bin: string): string {
  var s = "";
  for (var i = 0; i < bin.length; i++) s += (256 + bin.charCodeAt(i)).toString(16).substring(1);
  return s;
}

/** hex (either case, even length) to binary string; null if not hex */
export function fromHex(hex: string): string | null {
  if (typeof hex !== "string" || hex.length % 2 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  var s = "";
  for (var i = 0; i < hex.length; i += 2) s += String.fromCharCode(parseInt(hex.substring(i, i + 2), 16));
  return s;
}

/** compare without an early exit, so timing does not tell how much of a MAC was right */
export function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  var d = 0;
  for (var i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
