// A node's counters read from its flash, without changing it: the simulator's summary and
// the bench use it. Firmware code (kept ES5 so the same store logic is used).
//
// queued is counted from the queue files themselves, not derived from the counters, so
// lost = readings - acked - queued - dropped - untimed is a real check (0 when nothing was lost).

import { Store, unseal } from "./store.js";

export interface NodeStats {
  /** values queued since first boot (samples and window summaries) */
  readings: number;
  /** values sent in data messages (resends count again) */
  published: number;
  /** values the broker acknowledged */
  acked: number;
  /** values in the queue files now */
  queued: number;
  /** values dropped from the full queue */
  dropped: number;
  /** values from an RTC run that never learnt the time (never sent) */
  untimed: number;
  /** readings - acked - queued - dropped - untimed: 0 unless values were lost */
  lost: number;
  lostFiles: number;
  wakes: number;
  boots: number;
  cycles: number;
  uploads: number;
  uploadFails: number;
  cmds: number;
  cmdErrors: number;
  /** flash bytes the store wrote (its own estimate; the simulator counts the real ones) */
  bytesWritten: number;
  /** ms in each power state */
  energyMs: { [state: string]: number };
  safe: string;
  alarms: string[];
  /** what restoring found and would repair */
  notes: string[];
}

/** readings the node's own books say wait in its queue (as its status reports them), from its state alone: no queue file is read */
export function readQueued(storage: StorageModule): number {
  var st = new Store(readOnly(storage));
  st.load(true);
  return st.queued();
}

/** a read-only view: load() may repair, but here nothing reaches the flash */
function readOnly(s: StorageModule): StorageModule {
  return {
    read: function (n: string, o?: number, l?: number) { return s.read(n, o, l); },
    readJSON: function (n: string, x?: boolean) { return s.readJSON(n, x); },
    readArrayBuffer: function (n: string) { return s.readArrayBuffer(n); },
    list: function (r?: RegExp, f?: any) { return s.list(r, f); },
    getFree: function () { return s.getFree(); },
    write: function () { return true; },
    writeJSON: function () { return true; },
    erase: function () {},
    compact: function () {},
    open: function (n: string, m: "r" | "w" | "a") { return s.open(n, "r"); },
  };
}

export function readNodeStats(storage: StorageModule): NodeStats {
  var st = new Store(readOnly(storage));
  st.load(true);
  var s = st.state, c = s.c, queued = 0;
  for (var k = s.q.done + 1; k < s.q.next; k++) {
    var f = unseal(storage.read(st.qName(k)));
    if (f && Array.isArray(f.e)) queued += f.e.length;
  }
  return {
    readings: c.readings, published: c.published, acked: c.acked, queued: queued, dropped: c.dropped, untimed: c.untimed,
    lost: c.readings - c.acked - queued - c.dropped - c.untimed, lostFiles: c.lostFiles,
    wakes: c.wakes, boots: c.boots, cycles: c.cycles, uploads: c.uploads, uploadFails: c.uploadFails,
    cmds: c.cmds, cmdErrors: c.cmdErrors, bytesWritten: c.bytes, energyMs: s.en, safe: s.safe, alarms: s.alarms,
    notes: st.notes,
  };
}
