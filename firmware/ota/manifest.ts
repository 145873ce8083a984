// Update manifests (topic casanode/<site>/<node>/ota, retained): what a node checks before it
// spends flash or air time on an update. docs/ota.md has the whole scheme.
//
//   {"ctr":1768435235000,"ts":1768435235,"board":"esp32-bin","fw":"0.2.0","size":71234,"cs":768,
//    "sha":"<64 hex>","down":0,"mac":"<64 hex>"}
//   ctr   integer 1..2^53-1, never lower than the last manifest the node accepted (a replayed
//         older manifest is refused; the same one again, retained, is the same job)
//   ts    issue time, Unix s (informative; signed)
//   board the board profile the bundle was built for: another board refuses it
//   fw    the bundle's version, "major.minor.patch": it must be newer than what runs,
//         unless down is 1 (a downgrade, signed as such)
//   size  bundle bytes, 1..MAX_BUNDLE_BYTES; cs chunk bytes, MIN_CHUNK..MAX_CHUNK
//   sha   SHA-256 of the whole bundle, hex; its first 16 digits name the chunks' topics
//   mac   HMAC-SHA256 under the node's own key (the command key), hex, over
//           "casanode-ota\n" node "\n" ctr "\n" ts "\n" board "\n" fw "\n" size "\n" cs "\n" sha "\n" down
//         The first line keeps a command's MAC (which starts with the node id and the digits of
//         its counter) from ever passing as a manifest's, and the reverse.
//
// Checks run cheapest first: size, JSON, shape, MAC, counter, board, version. Never throws.

import { Sha256, hmacSha256, toHex, fromHex, equalConstantTime } from "../crypto/hmac.js";

export const MAX_MANIFEST_BYTES = 512;
/** the largest bundle a manifest may announce (ESP32 Storage is 896 KB; two slots must fit) */
export const MAX_BUNDLE_BYTES = 256 * 1024;
/** a chunk's data must fit in one inbound packet (1024 bytes) with its topic and CRC */
export const MAX_CHUNK_BYTES = 896;
export const MIN_CHUNK_BYTES = 64;
export const DEFAULT_CHUNK_BYTES = 768;
const MAX_CTR = 9007199254740991;
const DOMAIN = "casanode-ota";

export type ManifestError = "malformed" | "too-large" | "bad-mac" | "replay" | "wrong-board" | "not-newer";

export interface Manifest {
  ctr: number;
  ts: number;
  board: string;
  fw: string;
  size: number;
  cs: number;
  /** lower-case hex */
  sha: string;
  down: number;
}

export type ManifestResult =
  | { ok: true; m: Manifest }
  /** m when the MAC was good (the node may still know the bundle: it runs it, or rolled it back) */
  | { ok: false; error: ManifestError; detail: string; m?: Manifest };

/** What the node checks a manifest against. */
export interface NodeIdentity {
  node: string;
  board: string;
  /** version running now */
  fw: string;
  keyHex: string;
  /** highest manifest counter accepted so far (0: none) */
  lastCtr: number;
}

/** "a.b.c" as three numbers, or null */
export function parseVersion(v: any): number[] | null {
  if (typeof v !== "string" || v.length > 32 || !/^[0-9]+\.[0-9]+\.[0-9]+$/.test(v)) return null;
  var p = v.split("."), out: number[] = [];
  for (var i = 0; i < 3; i++) out.push(parseInt(p[i], 10));
  return out;
}

/** <0, 0, >0 as a is older, the same, newer than b; NaN if either is not a version */
export function compareVersions(a: string, b: string): number {
  var x = parseVersion(a), y = parseVersion(b);
  if (!x || !y) return NaN;
  for (var i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** chunks in a bundle of `size` bytes cut in `cs` */
export function chunkCount(m: { size: number; cs: number }): number {
  return Math.ceil(m.size / m.cs);
}

/** bytes of chunk k (the last one may be short) */
export function chunkBytes(m: { size: number; cs: number }, k: number): number {
  return k < chunkCount(m) - 1 ? m.cs : m.size - k * m.cs;
}

/** the bundle's short id: the first 16 hex digits of its SHA-256 (chunk topics, reports) */
export function bundleId(m: { sha: string }): string {
  return m.sha.substring(0, 16);
}

/** The string the MAC covers. */
export function manifestString(node: string, m: Manifest): string {
  return DOMAIN + "\n" + node + "\n" + m.ctr + "\n" + m.ts + "\n" + m.board + "\n" + m.fw + "\n" + m.size + "\n" + m.cs + "\n" + m.sha + "\n" + m.down;
}

/** Host side (tools, tests, simulator): the signed JSON. Throws on a bad key or fields. */
export function signManifest(node: string, keyHex: string, m: Manifest, sha256: Sha256): string {
  var key = fromHex(keyHex), e = shapeError(m);
  if (!key || !key.length) throw new Error("key must be hex");
  if (e) throw new Error("manifest: " + e);
  return JSON.stringify({ ctr: m.ctr, ts: m.ts, board: m.board, fw: m.fw, size: m.size, cs: m.cs, sha: m.sha, down: m.down, mac: toHex(hmacSha256(sha256, key, manifestString(node, m))) });
}

function int(v: any, min: number, max: number): boolean {
  return typeof v === "number" && v >= min && v <= max && v === Math.floor(v);
}

/** why the fields are not a manifest, or null */
function shapeError(m: any): string | null {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return "not an object";
  if (!int(m.ctr, 1, MAX_CTR)) return "bad ctr";
  if (!int(m.ts, 0, MAX_CTR)) return "bad ts";
  if (typeof m.board !== "string" || m.board.length > 32 || !/^[a-z0-9_-]+$/.test(m.board)) return "bad board";
  if (!parseVersion(m.fw)) return "bad fw (major.minor.patch)";
  if (!int(m.size, 1, MAX_BUNDLE_BYTES)) return "bad size (1.." + MAX_BUNDLE_BYTES + ")";
  if (!int(m.cs, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES)) return "bad cs (" + MIN_CHUNK_BYTES + ".." + MAX_CHUNK_BYTES + ")";
  if (typeof m.sha !== "string" || m.sha.length !== 64 || !/^[0-9a-f]+$/.test(m.sha)) return "bad sha (64 lower-case hex)";
  if (m.down !== 0 && m.down !== 1) return "bad down (0 or 1)";
  return null;
}

function fail(error: ManifestError, detail: string, m?: Manifest): ManifestResult {
  return { ok: false, error: error, detail: detail, m: m };
}

/** Check a manifest payload for this node. Never throws. */
export function verifyManifest(payload: any, me: NodeIdentity, sha256: Sha256): ManifestResult {
  var j: any, e: string | null, key: string | null, m: Manifest, c: number;
  if (typeof payload !== "string") return fail("malformed", "not text");
  if (payload.length > MAX_MANIFEST_BYTES) return fail("too-large", payload.length + " > " + MAX_MANIFEST_BYTES + " bytes");
  try {
    j = JSON.parse(payload);
  } catch (x) {
    return fail("malformed", "not JSON");
  }
  if ((e = shapeError(j))) return fail("malformed", e);
  if (typeof j.mac !== "string" || j.mac.length !== 64 || !/^[0-9a-fA-F]+$/.test(j.mac)) return fail("malformed", "bad mac field");
  m = { ctr: j.ctr, ts: j.ts, board: j.board, fw: j.fw, size: j.size, cs: j.cs, sha: j.sha, down: j.down };
  if (!(key = fromHex(me.keyHex)) || !key.length) return fail("bad-mac", "node has no key");
  if (!equalConstantTime(toHex(hmacSha256(sha256, key, manifestString(me.node, m))), j.mac.toLowerCase())) return fail("bad-mac", "mac mismatch");
  if (m.ctr < me.lastCtr) return fail("replay", "ctr " + m.ctr + " < " + me.lastCtr, m);
  if (m.board !== me.board) return fail("wrong-board", "for " + m.board + ", this is " + me.board, m);
  c = compareVersions(m.fw, me.fw);
  // a node whose own version does not parse takes only a signed downgrade
  if (!m.down && !(c > 0)) return fail("not-newer", m.fw + " is not newer than " + me.fw + " (a downgrade must be signed as one)", m);
  return { ok: true, m: m };
}
