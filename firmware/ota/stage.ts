// Staging an update into the idle slot, chunk by chunk, across as many wakes and power cuts
// as it takes (docs/ota.md):
//
//   ota.job    the accepted manifest and its slot (sealed: a torn write fails its checksum)
//   <slot>     fw.a or fw.b, created at the bundle's full size, all 0xFF; chunk k is written at
//              k * cs. Storage only programs bytes still 0xFF, so a chunk is written once.
//   ota.prog   one byte per chunk, 0xFF until the chunk is written and read back, then 0.
//              Programmed in place (no erase, no new file): a cut loses at most that mark.
//
// A cut inside a chunk's write leaves a prefix of it programmed and no mark: when the chunk
// comes again, the bytes already there must equal it and only the rest is written. Files are
// made slot first, marks second, and erased marks first, so a mark never outlives its slot.

import { seal, unseal, fileBytes, QUEUE_VALUE_BYTES, STATE_RESERVE_BYTES } from "../runtime/store.js";
import { Manifest, chunkCount, chunkBytes } from "./manifest.js";
import { sha256Init, sha256Update, sha256Final } from "../crypto/sha256.js";
import { toHex } from "../crypto/hmac.js";

export const JOB_FILE = "ota.job";
export const PROG_FILE = "ota.prog";
/** bytes read from flash at a time while hashing (RAM: a 4 KB string) */
const HASH_PIECE = 4096;
/** hash mismatches of one bundle before the node gives it up (a chunk bad on the broker) */
export const MAX_HASH_FAILS = 2;

export interface Job {
  m: Manifest;
  slot: string;
  /** staged bundles of this manifest that failed the hash */
  fails: number;
}

export type PutResult = "ok" | "dup" | "range" | "size" | "conflict";

var erasedCache = "";
/** n bytes of 0xFF (what an unwritten region reads), built by doubling and kept */
function erased(n: number): string {
  if (erasedCache.length < n) {
    erasedCache = "\xff";
    while (erasedCache.length < n) erasedCache += erasedCache;
  }
  return erasedCache.substring(0, n);
}

export function readJob(s: StorageModule): Job | null {
  var j = unseal(s.read(JOB_FILE));
  return j && j.m && typeof j.slot === "string" ? j : null;
}

/** flash a stage takes: the slot, the marks and the job (with their headers) */
export function stageBytes(m: Manifest): number {
  return fileBytes(m.size) + fileBytes(chunkCount(m)) + fileBytes(400);
}

/**
 * Why an update of `need` bytes does not fit, or null. room: free flash plus trash a
 * compaction would reclaim; the queue keeps what it may still grow to (queueMax - queued
 * values) and the state its two slots: an update never takes readings' room.
 */
export function fitError(need: number, room: number, queued: number, queueMax: number): string | null {
  var keep = Math.max(0, queueMax - queued) * QUEUE_VALUE_BYTES + STATE_RESERVE_BYTES;
  return need + keep <= room ? null : "needs " + need + " bytes, " + room + " free of which the queue and state keep " + keep;
}

/** Start staging m into slot (a new job: what was staged before is dropped). */
export function beginStage(s: StorageModule, m: Manifest, slot: string): Job {
  var job: Job = { m: m, slot: slot, fails: 0 };
  s.erase(PROG_FILE);
  s.erase(slot);
  s.write(JOB_FILE, seal(job));
  makeFiles(s, job);
  return job;
}

function makeFiles(s: StorageModule, job: Job): void {
  s.write(job.slot, "\xff", 0, job.m.size);
  s.write(PROG_FILE, "\xff", 0, chunkCount(job.m));
}

/**
 * After a boot: the job, with its slot and marks made whole again if a cut stopped
 * beginStage or restartStage half-way (then staging starts over: nothing was staged yet).
 * A job given up (fails >= MAX_HASH_FAILS) is returned as it is, with no files.
 */
export function resumeStage(s: StorageModule): Job | null {
  var job = readJob(s), slot: string | undefined, prog: string | undefined;
  if (!job || job.fails >= MAX_HASH_FAILS) return job;
  slot = s.read(job.slot, 0, 1) === undefined ? undefined : s.read(job.slot);
  prog = s.read(PROG_FILE);
  if (slot === undefined || slot.length !== job.m.size || prog === undefined || prog.length !== chunkCount(job.m)) {
    s.erase(PROG_FILE);
    s.erase(job.slot);
    makeFiles(s, job);
  }
  return job;
}

/** chunks staged so far */
export function stagedCount(s: StorageModule, job: Job): number {
  var p = s.read(PROG_FILE) || "";
  return p.length + 1 - p.split("\xff").length; // native work: a JS loop costs ~30 us a byte there
}

/** up to max chunk indexes still missing, lowest first */
export function missingChunks(s: StorageModule, job: Job, max: number): number[] {
  var p = s.read(PROG_FILE) || "", out: number[] = [], i = -1;
  while (out.length < max && (i = p.indexOf("\xff", i + 1)) >= 0) out.push(i);
  return out;
}

/**
 * Write chunk k (its bytes, CRC already checked) at its offset and mark it. "conflict": the
 * slot holds other bytes there (a write torn inside a byte on real flash): start the stage over.
 */
export function putChunk(s: StorageModule, job: Job, k: number, data: string): PutResult {
  var m = job.m, n = chunkCount(m), at: number, len: number, have: string | undefined, p: number;
  if (!(k >= 0 && k < n && k === Math.floor(k))) return "range";
  len = chunkBytes(m, k);
  if (typeof data !== "string" || data.length !== len) return "size";
  have = s.read(PROG_FILE, k, 1);
  if (have === undefined) return "conflict";
  if (have !== "\xff") return "dup";
  at = k * m.cs;
  have = s.read(job.slot, at, len) || "";
  // what a torn write left: the bytes before the last programmed one must be this chunk's
  if (have === erased(len)) p = 0;
  else for (p = have.length; p > 0 && have.charCodeAt(p - 1) === 255; p--);
  if (have.length !== len || have.substring(0, p) !== data.substring(0, p)) return "conflict";
  if (p < len) s.write(job.slot, data.substring(p), at + p, m.size);
  if (s.read(job.slot, at, len) !== data) return "conflict";
  s.write(PROG_FILE, "\x00", k, n);
  return "ok";
}

/**
 * SHA-256 of the staged slot, read in pieces, against the manifest's. Slow in plain JS (about
 * 5 s for 70 KB on a PC's Espruino, so minutes on an ESP32: docs/ota.md): kick() between
 * pieces feeds the watchdog.
 */
export function stageHashOk(s: StorageModule, job: Job, kick?: () => void): boolean {
  var st = sha256Init(true), size = job.m.size;
  for (var o = 0; o < size; o += HASH_PIECE) {
    sha256Update(st, s.read(job.slot, o, HASH_PIECE) as string);
    if (kick) kick();
  }
  return toHex(sha256Final(st)) === job.m.sha;
}

/** A staged bundle failed its hash: count it and start over (the slot is erased, marks first). */
export function restartStage(s: StorageModule, job: Job): Job {
  var j: Job = { m: job.m, slot: job.slot, fails: job.fails + 1 };
  s.erase(PROG_FILE);
  s.erase(job.slot);
  s.write(JOB_FILE, seal(j));
  if (j.fails < MAX_HASH_FAILS) makeFiles(s, j);
  return j;
}

/** the job is over (switched, refused, superseded): its files go; the slot stays unless asked */
export function endStage(s: StorageModule, eraseSlot: boolean): void {
  var job = readJob(s);
  s.erase(PROG_FILE);
  if (job && eraseSlot) s.erase(job.slot);
  s.erase(JOB_FILE);
}
