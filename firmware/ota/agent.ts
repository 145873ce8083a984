// The node's side of an update, as calls the runtime makes at boot, on a manifest, per chunk
// and after an upload; each returns the report to publish (retained on ota-state) and what
// to do next. State lives in flash only (boot record, job, marks), so any call may be the
// last before a deep sleep or a power cut. docs/ota.md has the whole flow.

import type { Sha256 } from "../crypto/hmac.js";
import { verifyManifest, bundleId, chunkCount, Manifest, ManifestResult } from "./manifest.js";
import { Crc32, OtaReport, chunkIndex, chunkTopic, unframeChunk } from "./messages.js";
import { BootRecord, readRecord, adoptBootcde, stagingSlot, switchTo, confirmBoot } from "./boot.js";
import { Job, MAX_HASH_FAILS, readJob, beginStage, endStage, fitError, missingChunks, putChunk, restartStage, resumeStage, stageBytes, stageHashOk, stagedCount } from "./stage.js";
import { fileBytes } from "../runtime/store.js";

export interface OtaDeps {
  storage: StorageModule;
  crc: Crc32;
  /** one-shot SHA-256 (the manifest's HMAC) */
  sha256: Sha256;
  node: string;
  board: string;
  /** the version running */
  fw: string;
  /** the slot this bundle was booted from (global __ota, set by .boot0), "" for .bootcde */
  slot: string;
  keyHex: string;
  /** values queued now and the queue's bound: an update leaves their room */
  queue(): { queued: number; max: number };
  /** free flash plus the trash a compaction would reclaim (Store.room) */
  room(): number;
  log(line: string): void;
  /** feeds the watchdog during the long bundle hash */
  kick?(): void;
}

export interface OtaStatus {
  rec: BootRecord | null;
  job: Job | null;
  /** publish retained on ota-state (when it differs from the last one published) */
  report: OtaReport | null;
  /**
   * the flashed .bootcde was adopted into a slot to make room: restart, so the selector
   * erases it, and take the manifest again then (it is retained)
   */
  restart?: boolean;
}

export interface ChunkOutcome {
  report: OtaReport | null;
  /** the new bundle is staged, checked and selected: restart into it */
  reboot: boolean;
}

function report(d: OtaDeps, state: OtaReport["state"], m: { sha: string; fw: string } | null, extra?: any): OtaReport {
  var r: any = { state: state, run: d.fw };
  if (m) {
    r.id = bundleId(m);
    r.fw = m.fw;
  }
  if (extra) for (var k in extra) r[k] = extra[k];
  return r;
}

function fetching(d: OtaDeps, job: Job, extra?: any): OtaReport {
  var r = report(d, "fetching", job.m, extra);
  r.have = stagedCount(d.storage, job);
  r.of = chunkCount(job.m);
  return r;
}

/** At boot: where the update stands (finishing what a cut interrupted). */
export function otaStart(d: OtaDeps): OtaStatus {
  var s = d.storage, rec = readRecord(s, d.crc), job = readJob(s), rb: any, r: OtaReport | null = null;
  if (rec && s.read(".bootcde", 0, 1) !== undefined) {
    // an adoption a cut interrupted, or a firmware flashed by cable since: finish / adopt it
    try {
      rec = adoptBootcde(s, d.crc, d.fw);
    } catch (x) {
      d.log("ota: cannot adopt .bootcde: " + x);
    }
  }
  rb = rec && rec.rb;
  // switched already (a cut left the job's files), or a job whose slot now runs: never repair
  // it (that would erase a bundle that boots), just drop its files
  if (job && rec && (bundleId(job.m) === rec.id || job.slot === rec.run || (rec.n > 0 && job.slot === rec.prev))) {
    endStage(s, false);
    job = null;
  } else if (job) job = resumeStage(s);
  if (rec && rec.n > 0 && d.slot === rec.run) r = report(d, "trial", { sha: rec.id, fw: rec.fw });
  else if (job && job.fails >= MAX_HASH_FAILS) r = report(d, "failed", job.m, { error: "hash", detail: "bundle hash mismatch " + job.fails + " times" });
  else if (job) r = fetching(d, job);
  else if (rb) r = report(d, "rolled-back", { sha: rb.id, fw: rb.fw }, { error: "rolled-back", detail: rb.why });
  else if (rec && rec.id) r = report(d, "done", { sha: rec.id, fw: rec.fw });
  return { rec: rec, job: job, report: r };
}

/** A message on the node's ota topic. Refusals are reported, never thrown. */
export function otaManifest(d: OtaDeps, st: OtaStatus, payload: any): OtaReport {
  var s = d.storage, rec = st.rec, job = st.job, last = Math.max(rec ? rec.mc : 0, job ? job.m.ctr : 0);
  var v: ManifestResult = verifyManifest(payload, { node: d.node, board: d.board, fw: d.fw, keyHex: d.keyHex, lastCtr: last }, d.sha256);
  var m: Manifest | undefined = v.m, id = m ? bundleId(m) : "", e: string | null, need: number;
  if (m && rec && id === rec.id) return st.report || report(d, rec.n > 0 ? "trial" : "done", m); // runs it already
  if (!v.ok) return report(d, "refused", m || null, { error: v.error, detail: v.detail });
  m = v.m;
  if (rec && rec.n > 0) return report(d, "refused", m, { error: "busy", detail: "bundle " + rec.id + " on trial" });
  if (rec && rec.rb && rec.rb.id === id && m.ctr <= rec.mc) return report(d, "rolled-back", m, { error: "rolled-back", detail: rec.rb.why });
  if (job && job.m.sha === m.sha && job.m.ctr === m.ctr) return st.report || fetching(d, job); // the same job, retained
  var copy = rec ? 0 : fileBytes((s.read(".bootcde") || "").length), q = d.queue();
  // a job being replaced gives its room back; else the bundle kept in the idle slot (the one
  // before the running one) is erased to stage into it
  var idle = rec && !job ? s.read(stagingSlot(rec), 0, 1) !== undefined ? (s.read(stagingSlot(rec)) as string).length : -1 : -1;
  var room = d.room() + (job ? stageBytes(job.m) : idle >= 0 ? fileBytes(idle) : 0);
  need = stageBytes(m) + copy;
  e = fitError(need, room, q.queued, q.max);
  // the first update on a small flash: .bootcde, its copy in a slot and the stage do not fit
  // together, but the selector erases .bootcde at the next boot: adopt now, stage after it
  var adoptFirst = !!e && !rec && copy > 0 && !fitError(copy, room, q.queued, q.max) && !fitError(stageBytes(m), room, q.queued, q.max);
  if (e && !adoptFirst) return report(d, "refused", m, { error: "no-room", detail: e });
  try {
    if (job) endStage(s, true);
    st.job = null;
    if (!rec) rec = st.rec = adoptBootcde(s, d.crc, d.fw);
    if (!rec) return report(d, "refused", m, { error: "no-bundle", detail: "no .bootcde and no boot record" });
    if (adoptFirst) {
      st.restart = true;
      d.log("ota: the flashed bundle is now in " + rec.run + ": restarting to free .bootcde before staging " + m.fw);
      return (st.report = report(d, "fetching", m, { have: 0, of: chunkCount(m), detail: "adopted the flashed bundle; restarting to make room" }));
    }
    job = st.job = beginStage(s, m, stagingSlot(rec));
  } catch (x) {
    return report(d, "failed", m, { error: "storage", detail: ("" + x).substring(0, 80) });
  }
  d.log("ota: staging " + m.fw + " (" + id + ", " + m.size + " bytes) into " + job.slot);
  return (st.report = fetching(d, job));
}

/** chunk topics to subscribe to now: at most max (a battery node's bound per wake) */
export function otaWanted(d: OtaDeps, st: OtaStatus, max: number): string[] {
  var job = st.job, out: string[] = [];
  if (!job || job.fails >= MAX_HASH_FAILS) return out;
  var ks = missingChunks(d.storage, job, max);
  for (var i = 0; i < ks.length; i++) out.push(chunkTopic(job.m.board, bundleId(job.m), ks[i]));
  return out;
}

/** A message on a chunk topic. */
export function otaChunk(d: OtaDeps, st: OtaStatus, topic: string, payload: string): ChunkOutcome {
  var s = d.storage, job = st.job, k: number, data: string | null, put: string;
  if (!job || job.fails >= MAX_HASH_FAILS) return { report: null, reboot: false };
  k = chunkIndex(topic, job.m.board, bundleId(job.m));
  if (k < 0) return { report: null, reboot: false };
  data = unframeChunk(payload, d.crc);
  if (data === null) return { report: (st.report = fetching(d, job, { error: "chunk", detail: "chunk " + k + " fails its CRC" })), reboot: false };
  try {
    put = putChunk(s, job, k, data);
    if (put === "conflict") {
      // flash holds other bytes where this chunk goes (a write torn inside a byte): start over
      job = st.job = restartStage(s, { m: job.m, slot: job.slot, fails: job.fails - 1 });
      return { report: (st.report = fetching(d, job, { error: "flash", detail: "chunk " + k + " torn on flash: staging again" })), reboot: false };
    }
    if (put === "size" || put === "range") return { report: (st.report = fetching(d, job, { error: "chunk", detail: "chunk " + k + ": " + put })), reboot: false };
    if (missingChunks(s, job, 1).length) return { report: (st.report = fetching(d, job)), reboot: false };
  } catch (x) {
    return { report: (st.report = report(d, "failed", job.m, { error: "storage", detail: ("" + x).substring(0, 80) })), reboot: false };
  }
  return otaFinish(d, st);
}

/**
 * Every chunk staged: check the bundle's SHA-256 and switch to it. Called after the last
 * chunk, and at boot (a cut may have stopped the check or the switch: it is done again).
 */
export function otaFinish(d: OtaDeps, st: OtaStatus): ChunkOutcome {
  var s = d.storage, job = st.job;
  if (!job || job.fails >= MAX_HASH_FAILS || !st.rec || st.rec.n > 0) return { report: null, reboot: false };
  try {
    if (missingChunks(s, job, 1).length) return { report: null, reboot: false };
    if (!stageHashOk(s, job, d.kick)) {
      job = st.job = restartStage(s, job);
      d.log("ota: " + bundleId(job.m) + " staged with the wrong hash (" + job.fails + ")");
      if (job.fails >= MAX_HASH_FAILS) return { report: (st.report = report(d, "failed", job.m, { error: "hash", detail: "bundle hash mismatch " + job.fails + " times" })), reboot: false };
      return { report: (st.report = fetching(d, job, { error: "hash", detail: "bundle hash mismatch: staging again" })), reboot: false };
    }
    st.rec = switchTo(s, d.crc, st.rec, job.slot, bundleId(job.m), job.m.fw, job.m.ctr);
    endStage(s, false);
    st.job = null;
  } catch (x) {
    return { report: (st.report = report(d, "failed", job.m, { error: "storage", detail: ("" + x).substring(0, 80) })), reboot: false };
  }
  d.log("ota: " + job.m.fw + " staged and checked: restarting into it");
  return { report: (st.report = report(d, "trial", job.m)), reboot: true };
}

/**
 * The running bundle is on trial and has booted, configured its sensors and uploaded once:
 * keep it. The report to publish, or null when nothing was on trial.
 */
export function otaConfirm(d: OtaDeps, st: OtaStatus): OtaReport | null {
  var rec = st.rec;
  // only the bundle on trial confirms itself (the selector may have run another after a flash error)
  if (!rec || !(rec.n > 0) || d.slot !== rec.run) return null;
  st.rec = confirmBoot(d.storage, d.crc);
  d.log("ota: " + rec.fw + " confirmed");
  return (st.report = report(d, "done", { sha: rec.id, fw: rec.fw }));
}
