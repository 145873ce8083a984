// Which bundle boots: two slot files, a boot record written A/B, and a selector in .boot0.
// docs/ota.md has the state machine; in short:
//
//   fw.a, fw.b       the bundles (Storage files, run with eval(read()): code stays in flash)
//   ota.r0, ota.r1   the boot record, written alternately: "<crc32 as 8 hex><json>"; the valid
//                    one with the higher sequence q wins, so a cut inside a write leaves the
//                    previous record standing. The record switch is the commit point.
//   ota.try          N bytes of 0xFF while a new bundle is on trial: the selector programs one
//                    byte to 0 before each boot of it (in place, no erase: a cut loses one try)
//   .boot0           the selector (Espruino runs .boot0 before .bootcde: src/jsflash.c)
//
// A .bootcde present means a firmware flashed the classic way (casanode flash): the selector
// steps aside and lets it run, unless a slot of the record holds a copy of it (adoptBootcde()
// made one before the first update): then the selector erases it and boots the slot.
//
// readRecord, writeRecord, selectBoot and bootFailed are copied into .boot0 by their text
// (Function.prototype.toString), so each is self-contained: no outer names, literals only.

import type { Crc32 } from "./messages.js";

export const SLOTS = ["fw.a", "fw.b"];
export const TRY_FILE = "ota.try";
export const RECORD_FILES = ["ota.r0", "ota.r1"];
/** boots (deep-sleep wakes included) a new bundle gets to confirm itself */
export const TRIAL_BOOTS = 4;
const COPY_PIECE = 4096;

export interface BootRecord {
  /** write sequence */
  q: number;
  /** the slot that boots, its bundle id ("" for one adopted from .bootcde) and version */
  run: string;
  id: string;
  fw: string;
  /** the slot to go back to while run is on trial ("" when none) */
  prev: string;
  pid: string;
  pfw: string;
  /** boots allowed on trial; 0 = confirmed */
  n: number;
  /** highest manifest counter accepted (replays below it are refused) */
  mc: number;
  /** the last rollback: which bundle, and why */
  rb?: { id: string; fw: string; why: string };
}

/** The newest intact boot record, or null. Self-contained (runs in .boot0). */
export function readRecord(s: StorageModule, crc: Crc32): BootRecord | null {
  var best: any = null;
  for (var i = 0; i < 2; i++) {
    var t = s.read("ota.r" + i), r: any = null, j: string, h: string;
    if (t && t.length > 8) {
      j = t.substring(8);
      h = "0000000" + (crc(j) >>> 0).toString(16);
      if (h.substring(h.length - 8) === t.substring(0, 8)) {
        try {
          r = JSON.parse(j);
        } catch (e) {
          r = null;
        }
      }
    }
    if (r && typeof r.q === "number" && (!best || r.q > best.q)) best = r;
  }
  return best;
}

/** Write r as the next record (over the older file). Self-contained (runs in .boot0). */
export function writeRecord(s: StorageModule, crc: Crc32, cur: BootRecord | null, r: BootRecord): void {
  r.q = (cur ? cur.q : 0) + 1;
  var j = JSON.stringify(r), h = "0000000" + (crc(j) >>> 0).toString(16);
  s.write("ota.r" + (r.q & 1), h.substring(h.length - 8) + j);
}

/**
 * The selector: the slot to run now, or "" to leave the boot to .bootcde. On trial it spends
 * one try (ota.try) first; with none left, or the bundle missing, it writes a rollback record
 * and returns the previous slot. Self-contained (runs in .boot0): R, W are readRecord,
 * writeRecord. Never throws: on a flash error it still names a bundle to run.
 */
export function selectBoot(s: StorageModule, crc: Crc32, R: typeof readRecord, W: typeof writeRecord): string {
  var r: BootRecord | null = null, t: string | undefined, used = 0, why = "", c: string | undefined, i: number, f: string | undefined;
  try {
    r = R(s, crc);
    c = s.read(".bootcde");
    if (c !== undefined) {
      // adopted (a copy is in a slot the record names): erase it now, while nothing runs from
      // it (a bundle that erases its own file stops dead); else a firmware flashed by cable runs
      for (i = 0; r && i < 2; i++) {
        f = s.read(i ? r.prev : r.run);
        if (f && f.length === c.length && crc(f) === crc(c)) {
          s.erase(".bootcde");
          c = undefined;
          break;
        }
      }
      if (c !== undefined) return "";
    }
    if (!r) return "";
    if (r.n > 0 && r.prev) {
      t = s.read("ota.try");
      if (t) while (used < t.length && t.charCodeAt(used) !== 255) used++;
      if (!s.read(r.run, 0, 1)) why = "bundle missing";
      else if (!t) why = "trial record missing";
      else if (used >= r.n) why = "not confirmed in " + r.n + " boots";
      if (why) {
        W(s, crc, r, { q: 0, run: r.prev, id: r.pid, fw: r.pfw, prev: "", pid: "", pfw: "", n: 0, mc: r.mc, rb: { id: r.id, fw: r.fw, why: why } });
        return r.prev;
      }
      s.write("ota.try", "\x00", used, (t as string).length); // the size keeps offset 0 from replacing the file
    }
    return s.read(r.run, 0, 1) ? r.run : "";
  } catch (e) {
    // flash refused a write: run something rather than nothing (the trial if it has tries left)
    return r ? (r.n > 0 && r.prev && used >= r.n ? r.prev : r.run) : "";
  }
}

/**
 * A bundle on trial threw while it booted: go back to the previous one now (the caller then
 * restarts with load()). false if there is nothing to go back to. Self-contained (.boot0).
 */
export function bootFailed(s: StorageModule, crc: Crc32, R: typeof readRecord, W: typeof writeRecord, why: string): boolean {
  var r = R(s, crc);
  if (!r || !(r.n > 0) || !r.prev) return false;
  W(s, crc, r, { q: 0, run: r.prev, id: r.pid, fw: r.pfw, prev: "", pid: "", pfw: "", n: 0, mc: r.mc, rb: { id: r.id, fw: r.fw, why: ("crashed at boot: " + why).substring(0, 120) } });
  return true;
}

/**
 * The text of .boot0: select, then run the slot at top level (its globals are global), and
 * roll back a trial that throws while it boots, then restart from flash: load() called while
 * boot code runs does nothing (measured on 2v29), so it is called from a timeout.
 */
export function boot0Text(): string {
  var R = "" + readRecord, W = "" + writeRecord;
  return (
    BOOT0_MARK + "(" + selectBoot + ")(require('Storage'),E.CRC32," + R + "," + W + ");\n" +
    "if(__ota){try{eval(require('Storage').read(__ota))}catch(e){if((" + bootFailed + ")(require('Storage'),E.CRC32," + R + "," + W + ",''+e))setTimeout(load,1);else throw e}}\n" +
    BOOT0_END
  );
}

/** how every .boot0 this module writes starts and ends (a torn write ends in 0xFF) */
export const BOOT0_MARK = "var __ota=";
export const BOOT0_END = "//casanode-ota\n";

/** is .boot0 a whole boot selector (of this or an earlier firmware)? */
export function selectorInstalled(s: StorageModule): boolean {
  var t = s.read(".boot0");
  return !!t && t.substring(0, BOOT0_MARK.length) === BOOT0_MARK && t.substring(t.length - BOOT0_END.length) === BOOT0_END;
}

/** the slot a new bundle is staged into: the one not running */
export function stagingSlot(r: BootRecord): string {
  return r.run === SLOTS[0] ? SLOTS[1] : SLOTS[0];
}

/** Storage file to file in pieces (a bundle read whole would not fit in RAM) */
export function copyFile(s: StorageModule, from: string, to: string, crc: Crc32): boolean {
  var l = (s.read(from) || "").length;
  for (var o = 0; o < l; o += COPY_PIECE) s.write(to, s.read(from, o, COPY_PIECE) as string, o, l);
  return sameFile(s, from, to, crc);
}

function sameFile(s: StorageModule, a: string, b: string, crc: Crc32): boolean {
  var x = s.read(a), y = s.read(b);
  return x !== undefined && y !== undefined && x.length === y.length && crc(x) === crc(y);
}

/**
 * Put a firmware flashed as .bootcde into slot fw.a with a confirmed record and the selector,
 * so updates can switch slots. .bootcde stays: the bundle running now runs from it (and one
 * that erases its own file stops dead, measured), so the selector erases it at the next boot,
 * seeing its copy in a slot. A .bootcde that matches no slot of the record was flashed since:
 * it wins, and the record starts afresh. Resumable at any cut; throws on a full flash.
 */
export function adoptBootcde(s: StorageModule, crc: Crc32, fw: string): BootRecord | null {
  var r = readRecord(s, crc);
  if (s.read(".bootcde", 0, 1) === undefined) return r;
  if (!r || !(sameFile(s, ".bootcde", r.run, crc) || (r.prev && sameFile(s, ".bootcde", r.prev, crc)))) {
    if (!sameFile(s, ".bootcde", SLOTS[0], crc)) {
      s.erase(SLOTS[0]);
      if (!copyFile(s, ".bootcde", SLOTS[0], crc)) throw new Error("copy of .bootcde does not read back");
    }
    var nr: BootRecord = { q: 0, run: SLOTS[0], id: "", fw: fw, prev: "", pid: "", pfw: "", n: 0, mc: r ? r.mc : 0 };
    s.erase(TRY_FILE);
    writeRecord(s, crc, r, nr);
    r = nr;
  }
  // written only while .bootcde still runs whatever a cut leaves of it, and never rewritten
  // after (with no .bootcde, a cut inside a rewrite would leave nothing to boot): docs/ota.md
  if (!selectorInstalled(s)) s.write(".boot0", boot0Text());
  if (!selectorInstalled(s)) throw new Error(".boot0 does not read back");
  return r;
}

/**
 * Make the staged slot the one that boots, on trial (the caller then reboots). ota.try is
 * made before the record names the new slot, so a cut leaves the old record (old bundle
 * boots, the switch is done again) or the new one with its tries.
 */
export function switchTo(s: StorageModule, crc: Crc32, r: BootRecord, slot: string, id: string, fw: string, mc: number): BootRecord {
  var tries = "";
  for (var i = 0; i < TRIAL_BOOTS; i++) tries += "\xff";
  if (!selectorInstalled(s)) throw new Error("no boot selector in .boot0");
  s.erase(TRY_FILE);
  s.write(TRY_FILE, tries);
  var nr: BootRecord = { q: 0, run: slot, id: id, fw: fw, prev: r.run, pid: r.id, pfw: r.fw, n: TRIAL_BOOTS, mc: mc };
  writeRecord(s, crc, r, nr);
  return nr;
}

/** The bundle on trial has booted, configured its sensors and uploaded: keep it. */
export function confirmBoot(s: StorageModule, crc: Crc32): BootRecord | null {
  var r = readRecord(s, crc);
  if (!r || !(r.n > 0)) return r;
  var nr: BootRecord = { q: 0, run: r.run, id: r.id, fw: r.fw, prev: r.prev, pid: r.pid, pfw: r.pfw, n: 0, mc: r.mc };
  writeRecord(s, crc, r, nr);
  s.erase(TRY_FILE);
  return nr;
}
