// Persistent store on Espruino's Storage (flash): the node's state across deep sleeps and
// power cuts, and the store-and-forward queue of readings not yet acknowledged.
// Firmware code: ES5, Espruino subset.
//
// Power-cut safety: a cut in the middle of a write loses at most that write.
// - State: two slot files written alternately, each "<checksum><json>" with a sequence
//   number; a torn slot fails its checksum and the other (previous) slot is used.
// - Queue: one small file per batch ("cn.q<seq>"), written once, never rewritten. Writing the
//   file is the commit point of its readings: state.q.next says which files the state already
//   counts, and load() adopts an intact file beyond it (counted now) or erases a torn one.
// - Files leave the queue (acked or dropped) by advancing state.q.done in a state write first,
//   then erasing them: load() erases whatever a cut left behind at or below done.
// So the counters stay exact: readings = acked + dropped + untimed + queued, whatever point a cut hits.
//
// Time: a reading taken before the clock is set (an ESP32's RTC restarts at 0 on power-on) is
// stamped in seconds since the RTC started (below CLOCK_VALID_S: that is the mark). Queue files
// are never rewritten, so state.runs records, per RTC run, the first queue file it wrote and
// the offset its clock turned out to have; peek() adds it. A run that ended (power cut) before
// it learnt the time left readings nobody can place: they leave the queue counted as untimed,
// never sent with a made-up time.
//
// Full flash: Storage.write throws "Unable to find or create file" when a file fits neither in
// the free space nor in free + trash (Espruino compacts then, counting trash without headers);
// replacing a file erases the old copy first, so a state slot write that fails loses that slot. The queue therefore keeps room
// for the state (reserve()): before a queue file would eat into it, the oldest files are dropped
// (counted), the state that says so is written, then they are erased. A write refused anyway
// drops the oldest and tries again. Nothing is refused for the rest of a boot after a failure.

import type { Entry, NodeState } from "./state.js";

const STATE_VERSION = 1;
/** before 2024-01-01 the clock was never set (an ESP32's RTC starts at 0 after power-on) */
export const CLOCK_VALID_MS = 1704067200000;
export const CLOCK_VALID_S = CLOCK_VALID_MS / 1000;
/** state.runs offsets that are not offsets */
export const RUN_LIVE = 0;
export const RUN_LOST = -1;
/** Espruino Storage: each file costs a header in flash besides its data (name + size) */
export const FILE_OVERHEAD_BYTES = 32;
/** ESP32 Espruino Storage area since 2v26 (896 KB; 256 KB before) */
export const ESP32_STORAGE_BYTES = 896 * 1024;
/** Espruino's Linux build fakes 256 KB of flash */
export const LINUX_STORAGE_BYTES = 256 * 1024;
/** one bundle slot (fw.a / fw.b, or .bootcde): the bundles are 80-97 KB today */
export const BUNDLE_SLOT_BYTES = 100 * 1024;
/**
 * Storage kept for the firmware: two bundle slots (the running one and an update staged beside
 * it, docs/ota.md), plus casanode.json, the boot selector .boot0, boot records and staging marks
 */
export const CODE_RESERVE_BYTES = 2 * BUNDLE_SLOT_BYTES + 4 * 1024;
/** the two state slots: each < 1.5 KB measured, one 4 KB flash page allowed each */
export const STATE_RESERVE_BYTES = 2 * 4096;
/**
 * Flash one queued value takes, at most: an entry is <= 46 chars of JSON, and a queue file's
 * 32-byte header, checksum and wrapper (~50 bytes) are shared by the >= 3 values of a cycle.
 * Measured in the simulator over a day offline: 38.6 (esp32-air) to 48.6 (esp32-noise) bytes
 * a value on average, 56 for the worst file (a 3-value esp32-bin batch).
 */
export const QUEUE_VALUE_BYTES = 56;
/** on a full flash, drop this much more than needed (at most 1/8 of it): a compaction copies every
 * live file, so compacting for every batch would wear the flash (measured: 5d on 384 KB, 1/32
 * slack wrote 370 MB, 1/8 wrote 148 MB) */
const ROOM_SLACK_BYTES = 64 * 1024;

/** Storage bytes a file of `chars` characters takes: header + data padded to 4 bytes */
export function fileBytes(chars: number): number {
  return ((chars + 3) & ~3) + FILE_OVERHEAD_BYTES;
}

/** values a queue can hold on a Storage of `storageBytes`, after code, config and state */
export function queueCapacity(storageBytes: number): number {
  return Math.max(0, Math.floor((storageBytes - CODE_RESERVE_BYTES - STATE_RESERVE_BYTES) / QUEUE_VALUE_BYTES));
}

export function freshState(now: number): NodeState {
  return {
    v: STATE_VERSION, sq: 0, born: now >= CLOCK_VALID_MS ? now : 0,
    c: { readings: 0, published: 0, acked: 0, dropped: 0, untimed: 0, lostFiles: 0, wakes: 0, boots: 0, cycles: 0, uploads: 0, uploadFails: 0, cmds: 0, cmdErrors: 0, cmdTooLarge: 0, bytes: 0 },
    q: { next: 1, done: 0 }, runs: [],
    next: 0, winDone: 0, win: null, day: null, dp: null, ctr: 0, boots: [], crashRun: 0, safe: "", en: {}, cfg: null, alarms: [],
    relay: null, lamp: null, lastUp: 0, lastUpOk: false, upFails: 0, chain: 0, dev: {}, savedAt: 0,
  };
}

/** the platform's native CRC-32 (E.CRC32), set at boot (useNativeCrc); null: the loop below */
var nativeCrc: ((s: string) => number) | null = null;

/** seal with the chip's E.CRC32 (Platform.crc32) from now on; the same values as the loop */
export function useNativeCrc(crc?: (s: string) => number): void {
  nativeCrc = crc || null;
}

/**
 * CRC-32 (IEEE, as zlib). On a chip, E.CRC32: a loop per char in the interpreter costs 14-19 us
 * a char on a 2.6 GHz host's Espruino, ~0.5 ms on the ESP32, over a second a wake over the
 * state's slots (docs/espruino-dialect.md). The loop is for Node's tests and the host's tools.
 */
export function checksum(s: string): number {
  if (nativeCrc) return nativeCrc(s) >>> 0;
  var c = -1;
  for (var i = 0; i < s.length; i++) {
    c ^= s.charCodeAt(i) & 0xff;
    for (var k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** Adler-32 (RFC 1950): what firmware before CRC-32 sealed with, still read after an update */
export function adler32(s: string): number {
  var a = 1, b = 0;
  for (var i = 0; i < s.length; i++) {
    a = (a + (s.charCodeAt(i) & 0xff)) % 65521;
    b = (b + a) % 65521;
  }
  return b * 65536 + a;
}

function hex8(n: number): string {
  var s = n.toString(16);
  while (s.length < 8) s = "0" + s;
  return s;
}

/** "<checksum as 8 hex digits><json>" */
export function seal(obj: any): string {
  var j = JSON.stringify(obj);
  return hex8(checksum(j)) + j;
}

/** The object in a sealed string, or undefined if torn, corrupt or absent. */
export function unseal(s: string | undefined): any {
  if (typeof s !== "string" || s.length < 10) return undefined;
  var j = s.substr(8), sum = s.substr(0, 8);
  // the older seal costs the slow loop, only where the new one does not match (once after an update, or a torn file)
  if (sum !== hex8(checksum(j)) && sum !== hex8(adler32(j))) return undefined;
  try {
    return JSON.parse(j);
  } catch (e) {
    return undefined;
  }
}

/** A batch of queued values read for one data message, oldest first. */
export interface Batch {
  /** [seq, values sent, values untimed] per queue file in the batch */
  files: Array<[number, number, number]>;
  entries: Entry[];
  /** highest seq in the batch */
  last: number;
}

export class Store {
  storage: StorageModule;
  state: NodeState;
  /** what load() found and repaired, for the boot log */
  notes: string[];
  /** the last flash write or erase that failed, "" once one succeeds again (diagnostics only) */
  failed: string;
  /** the clock at the last save before this boot (a lower clock now: the RTC restarted) */
  savedBefore: number;
  /** values the last enqueue() dropped from the queue to make room in flash */
  roomDrops: number;
  private _pre: string;
  private _erase: number[];
  /** chars of the last state written or read (the reserve is made from it) */
  private _stateChars: number;

  constructor(storage: StorageModule, prefix?: string) {
    this.storage = storage;
    this._pre = prefix || "cn.";
    this.state = freshState(Date.now());
    this.notes = [];
    this._erase = [];
    this.failed = "";
    this.savedBefore = 0;
    this.roomDrops = 0;
    this._stateChars = 0;
  }

  /** the queue file of `seq` */
  qName(seq: number): string {
    return this._pre + "q" + seq;
  }

  /** Storage.write counting the bytes; false if it threw or refused (flash full, power lost) */
  write(name: string, data: string): boolean {
    var ok: boolean;
    try {
      ok = this.storage.write(name, data) !== false;
    } catch (e) {
      this.failed = "flash write failed: " + ((e && (e as any).message) || e);
      return false;
    }
    if (!ok) {
      this.failed = "flash write refused: " + name;
      return false;
    }
    this.failed = "";
    this.state.c.bytes += fileBytes(data.length);
    return true;
  }

  private _removeFile(name: string): void {
    try {
      this.storage.erase(name);
    } catch (e) {
      this.failed = "flash erase failed: " + ((e && (e as any).message) || e);
    }
  }

  /**
   * The biggest file that fits now, as Espruino decides: in the free space, or (compacting
   * first) in less than free + trash, trash counted by data size (without the header and
   * padding getStats counts: <= 35 bytes a file). getStats is missing on SAVE_ON_FLASH builds.
   */
  room(): number {
    var st = this.storage.getStats ? this.storage.getStats() : null;
    if (!st) return this.storage.getFree();
    var trash = st.trashBytes - 35 * st.trashCount - 1;
    return st.freeBytes + (trash > 0 ? trash : 0);
  }

  /**
   * Room the queue leaves for the state: a slot that exists is replaced (its old copy becomes
   * trash) and needs only room to grow; a missing one (lost to a cut) needs all of it.
   */
  private _reserve(): number {
    var grow = 512, r = 0, full = fileBytes((this._stateChars || JSON.stringify(this.state).length + 8) + grow);
    for (var i = 0; i < 2; i++) r += this.storage.read(this._pre + "s" + i) === undefined ? full : grow;
    return r;
  }

  /** values in queue file `seq`, or -1 if missing or torn */
  private _fileCount(seq: number): number {
    var f = unseal(this.storage.read(this.qName(seq)));
    return f && Array.isArray(f.e) ? f.e.length : -1;
  }

  /**
   * Restore: newest intact state slot, then repair the queue around it. `sweep` (power-on
   * boots) also lists Storage for queue files outside the known range.
   */
  load(sweep?: boolean): void {
    var a = unseal(this.storage.read(this._pre + "s0"));
    var b = unseal(this.storage.read(this._pre + "s1"));
    if (a && a.v !== STATE_VERSION) a = undefined;
    if (b && b.v !== STATE_VERSION) b = undefined;
    var s: NodeState | undefined = a && (!b || a.sq > b.sq) ? a : b;
    var n = this.notes;
    if (s) this._stateChars = (this.storage.read(this._pre + "s" + (s.sq % 2)) || "").length;
    if (!s) {
      if (this.storage.read(this._pre + "s0") !== undefined || this.storage.read(this._pre + "s1") !== undefined) n.push("state: both slots corrupt, starting afresh");
      s = freshState(Date.now());
      sweep = true;
    }
    this.state = s;
    // states saved before runs existed
    if (!s.runs) s.runs = [];
    if (!s.c.untimed) s.c.untimed = 0;
    this.savedBefore = s.savedAt;
    var q = s.q, c = s.c, k: number;
    // a cut between the state write and the erasures leaves acked/dropped files behind
    for (k = q.done; k > 0 && this.storage.read(this.qName(k)) !== undefined; k--) this._removeFile(this.qName(k));
    // files written after the last state write: committed if intact, torn otherwise
    for (;;) {
      var name = this.qName(q.next);
      if (this.storage.read(name) === undefined) break;
      var cnt = this._fileCount(q.next);
      if (cnt < 0) {
        n.push("queue: torn " + name + " erased");
        this._removeFile(name);
        break;
      }
      c.readings += cnt;
      q.next++;
    }
    if (sweep) this._sweep();
  }

  /** adopt or erase queue files the state does not know about (lost state, odd cuts) */
  private _sweep(): void {
    var q = this.state.q, c = this.state.c, re = new RegExp("^" + this._pre.replace(".", "\\.") + "q(\\d+)$");
    var names = this.storage.list(re);
    var seqs: number[] = [], i: number;
    for (i = 0; i < names.length; i++) seqs.push(parseInt(names[i].substr(this._pre.length + 1), 10));
    seqs.sort(function (x, y) { return x - y; });
    for (i = 0; i < seqs.length; i++) {
      var k = seqs[i];
      if (k > q.done && k < q.next) continue;
      var cnt = k > q.done ? this._fileCount(k) : -1;
      if (cnt >= 0 && q.next === 1 && q.done === 0 && i === 0) q.done = k - 1;
      if (cnt >= 0 && k >= q.next && k > q.done) {
        // orphans from a state we lost: keep their readings, count them now
        c.readings += cnt;
        q.next = k + 1;
        this.notes.push("queue: adopted " + this.qName(k));
      } else {
        this._removeFile(this.qName(k));
      }
    }
  }

  /**
   * Write the state to the older slot, then erase files that left the queue. On a flash full to
   * the last byte (room was not kept: an older firmware filled it) those files go first, then
   * the oldest queued ones, until the state fits: a cut in between costs them as lostFiles.
   */
  save(): boolean {
    var s = this.state, q = s.q, name: string, data: string;
    s.sq++;
    s.savedAt = Date.now();
    if (!s.born && s.savedAt >= CLOCK_VALID_MS) s.born = s.savedAt;
    name = this._pre + "s" + (s.sq % 2);
    for (;;) {
      data = seal(s);
      if (this.write(name, data)) break;
      // not for lack of room (power lost), or nothing left to let go
      if (this.room() >= fileBytes(data.length) || (!this._erase.length && q.done + 1 >= q.next)) return false;
      if (!this._erase.length) this._dropOldest();
      this._eraseLeft();
    }
    this._stateChars = data.length;
    this._eraseLeft();
    return true;
  }

  private _eraseLeft(): void {
    for (var i = 0; i < this._erase.length; i++) this._removeFile(this.qName(this._erase[i]));
    this._erase = [];
  }

  /** values waiting for upload */
  queued(): number {
    var c = this.state.c;
    return c.readings - c.acked - c.dropped - c.untimed;
  }

  /** the current RTC run, if it is still waiting for the clock */
  runLive(): boolean {
    var r = this.state.runs;
    return r.length > 0 && r[r.length - 1][1] === RUN_LIVE;
  }

  /** The RTC started afresh with the clock unset: what the last run could not place is lost. */
  newRun(): void {
    var r = this.state.runs, seq = this.state.q.next;
    this.endRun();
    // a run that wrote nothing covers no file
    if (r.length && r[r.length - 1][0] >= seq) r.pop();
    r.push([seq, RUN_LIVE]);
  }

  /** the live run ended before it learnt the time */
  endRun(): void {
    var r = this.state.runs;
    if (this.runLive()) r[r.length - 1][1] = RUN_LOST;
  }

  /** The live run's clock was set: its run-time stamps are `offsetMs` behind real time. */
  runSynced(offsetMs: number): void {
    var r = this.state.runs;
    if (this.runLive()) r[r.length - 1][1] = Math.round(offsetMs);
  }

  /** offset of the current run's clock once known, else 0 */
  runOffset(): number {
    var r = this.state.runs, o = r.length ? r[r.length - 1][1] : 0;
    return o > 0 ? o : 0;
  }

  /**
   * Drop the oldest queue files until a file of `bytes` fits with the state's reserve kept (and
   * some slack, so a full flash is not compacted for every batch). The state that counts them
   * is written before they are erased. false if it does not fit even so.
   */
  private _makeRoom(bytes: number): boolean {
    var q = this.state.q, need = bytes + this._reserve(), room = this.room(), n = 0;
    if (need <= room) return true;
    var slack = this.storage.getStats ? Math.min(ROOM_SLACK_BYTES, this.storage.getStats().totalBytes >> 3) : 0;
    while (room < need + slack && q.done + 1 < q.next) {
      room += this._dropOldest();
      n++;
    }
    if (n && !this.save()) return false;
    return bytes + this._reserve() <= this.room();
  }

  /**
   * Queue values (one flash file: the commit point), then drop the oldest files while more
   * than `max` values wait. Counters change in memory; save() makes them durable (and a cut
   * before that is repaired by load()). On a full flash the oldest files make room, counted
   * as dropped (roomDrops). false if the values could not be stored: then counted as taken
   * and dropped if there was no room, not counted if the write failed otherwise (power lost).
   */
  enqueue(entries: Entry[], max: number): boolean {
    if (!entries.length) return true;
    var s = this.state, q = s.q, c = s.c, name = this.qName(q.next), data = seal({ e: entries }), bytes = fileBytes(data.length), d0 = c.dropped;
    var ok = this._makeRoom(bytes) && this.write(name, data);
    // refused for lack of room although it seemed to fit: the oldest go, one at a time
    while (!ok && q.done + 1 < q.next && this.room() < bytes) {
      this._dropOldest();
      ok = this.save() && this.write(name, data);
    }
    this.roomDrops = c.dropped - d0;
    if (!ok) {
      if (this.room() < bytes + this._reserve()) {
        this.failed = "flash full: no room for " + bytes + " bytes besides the state";
        c.readings += entries.length;
        c.dropped += entries.length;
      }
      return false;
    }
    q.next++;
    c.readings += entries.length;
    while (this.queued() > max && q.done + 1 < q.next) this._dropOldest();
    return true;
  }

  /** the oldest file leaves the queue, counted; its bytes once erased */
  private _dropOldest(): number {
    var s = this.state, k = s.q.done + 1, text = this.storage.read(this.qName(k)), f = unseal(text);
    if (f && Array.isArray(f.e)) s.c.dropped += f.e.length;
    else s.c.lostFiles++;
    s.q.done = k;
    this._erase.push(k);
    return text ? fileBytes(text.length) : 0;
  }

  /**
   * Oldest queued values, whole files, up to about maxChars of JSON (at least one file), times
   * made real: run-time stamps get their run's offset; those of a run that never learnt the
   * time are left out (counted untimed on ack); those of the live run wait for the clock.
   */
  peek(maxChars: number): Batch | null {
    var q = this.state.q, runs = this.state.runs, b: Batch = { files: [], entries: [], last: 0 }, size = 0, i: number;
    // runs whose files have all left the queue (the last one stays: its clock offset still applies)
    while (runs.length > 1 && runs[1][0] <= q.done + 1) runs.shift();
    for (var k = q.done + 1; k < q.next; k++) {
      var f = unseal(this.storage.read(this.qName(k)));
      if (!f || !Array.isArray(f.e)) {
        // unreadable although committed: nothing to send, let it go
        if (k === q.done + 1) {
          this.state.c.lostFiles++;
          q.done = k;
          this._erase.push(k);
          continue;
        }
        break;
      }
      var len = JSON.stringify(f.e).length;
      if (b.files.length && size + len > maxChars) break;
      var off = RUN_LOST, out: Entry[] = [], wait = false;
      for (i = runs.length - 1; i >= 0; i--) {
        if (runs[i][0] <= k) {
          off = runs[i][1];
          break;
        }
      }
      for (i = 0; i < f.e.length; i++) {
        var e: Entry = f.e[i];
        if (e[3] >= CLOCK_VALID_S) out.push(e);
        else if (off === RUN_LIVE) wait = true;
        else if (off > 0) out.push([e[0], e[1], e[2], e[3] + Math.round(off / 1000)]);
      }
      if (wait) break;
      size += len;
      b.files.push([k, out.length, f.e.length - out.length]);
      for (i = 0; i < out.length; i++) b.entries.push(out[i]);
      b.last = k;
    }
    return b.files.length ? b : null;
  }

  /** The broker acknowledged a batch: its files leave the queue (those not dropped meanwhile). */
  ack(b: Batch): number {
    var s = this.state, n = 0;
    for (var i = 0; i < b.files.length; i++) {
      var k = b.files[i][0];
      if (k <= s.q.done) continue;
      // in order: files before k are acked by earlier batches or dropped
      n += b.files[i][1];
      s.c.untimed += b.files[i][2] || 0;
      s.q.done = k;
      this._erase.push(k);
    }
    s.c.acked += n;
    return n;
  }

  /** Bytes written per day so far (0 before a minute has passed). */
  bytesPerDay(now: number): number {
    var days = (now - this.state.born) / 86400000;
    return this.state.born && days > 1 / 1440 ? this.state.c.bytes / days : 0;
  }
}
