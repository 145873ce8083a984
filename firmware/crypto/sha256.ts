// SHA-256 (FIPS 180-4) in plain JS for Espruino builds without require("crypto"): the stock
// ESP32 build (Espruino's boards/ESP32_IDF4.py) leaves CRYPTO, SHA256 and TLS out, and commands and
// update bundles must still be checked. Binary strings (one char per byte); digests are
// 32-char binary strings. sha256() is one-shot (commands: at most 512 bytes); the streaming
// form (sha256Init/Update/Final) hashes a bundle read from flash in pieces, in bounded RAM.

// Typed arrays and rotations written out: Espruino's arrays are linked lists (w[i] walks
// them) and each call costs, so this runs ~2-3x faster there than arrays and rotr() did
// (measured on the Linux build of 2v29: 8 KB in 590 ms instead of 1100-1900 ms).
var K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** a hash in progress: chaining words, bytes not yet a whole block, total length */
export interface Sha256State {
  /** the block function: block, or its copy in RAM */
  b: Block;
  h: Int32Array;
  /** 0..63 bytes waiting for the rest of their block */
  buf: string;
  bytes: number;
  /** message schedule, reused for every block */
  w: Int32Array;
}

/**
 * block() with its code in RAM: Espruino lexes a function's text at every call, and a bundle
 * run from flash (.bootcde, or a Storage file) reads that text from flash: 70 KB hashed from
 * flash-resident code took 24 s on the Linux build, 5.6 s from RAM (measured, 2v29). About
 * 100 variables while the state lives. Indirect eval: the text is evaluated on its own (a
 * direct eval would also stop the minifier renaming the bundle's names).
 */
function ramCopy(f: Block): Block {
  try {
    return (0, eval)("(" + f + ")");
  } catch (e) {
    return f;
  }
}

/** a new hash; `big`: much data to come (a bundle), worth running the block code from RAM */
export function sha256Init(big?: boolean): Sha256State {
  return { b: big ? ramCopy(block) : block, h: new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]), buf: "", bytes: 0, w: new Int32Array(64) };
}

type Block = (h: Int32Array, w: Int32Array, m: string, off: number, kk: Int32Array) => void;

/** one 64-byte block of m at off into h; self-contained (ramCopy evaluates its text alone) */
function block(h: Int32Array, w: Int32Array, m: string, off: number, kk: Int32Array): void {
  var i: number, x: number, y: number, t1: number, t2: number;
  for (i = 0; i < 16; i++) {
    x = off + i * 4;
    w[i] = (m.charCodeAt(x) << 24) | (m.charCodeAt(x + 1) << 16) | (m.charCodeAt(x + 2) << 8) | m.charCodeAt(x + 3);
  }
  for (i = 16; i < 64; i++) {
    x = w[i - 15];
    y = w[i - 2];
    w[i] = (w[i - 16] + (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + w[i - 7] + (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) | 0;
  }
  var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (i = 0; i < 64; i++) {
    t1 = (k + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + kk[i] + w[i]) | 0;
    t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + b) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + k) | 0;
}

export function sha256Update(st: Sha256State, data: string): void {
  var off = 0, n = data.length;
  st.bytes += n;
  if (st.buf.length) {
    off = 64 - st.buf.length;
    st.buf += data.substring(0, off);
    if (st.buf.length < 64) return;
    st.b(st.h, st.w, st.buf, 0, K);
    st.buf = "";
  }
  // whole blocks straight from data: no copy of a 4 KB piece
  for (; off + 64 <= n; off += 64) st.b(st.h, st.w, data, off, K);
  st.buf = data.substring(off);
}

/** the digest; st is spent afterwards */
export function sha256Final(st: Sha256State): string {
  var bytes = st.bytes, m = st.buf + String.fromCharCode(0x80);
  while (m.length % 64 !== 56) m += String.fromCharCode(0);
  // length in bits, big-endian 64-bit: messages here are far below 2^29 bytes
  var hi = Math.floor(bytes / 0x20000000), lo = (bytes * 8) >>> 0;
  m += String.fromCharCode((hi >>> 24) & 255, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255, (lo >>> 24) & 255, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255);
  for (var off = 0; off < m.length; off += 64) st.b(st.h, st.w, m, off, K);
  var out = "";
  for (var j = 0; j < 8; j++) out += String.fromCharCode((st.h[j] >>> 24) & 255, (st.h[j] >>> 16) & 255, (st.h[j] >>> 8) & 255, st.h[j] & 255);
  return out;
}

export function sha256(message: string): string {
  var st = sha256Init();
  sha256Update(st, message);
  return sha256Final(st);
}
