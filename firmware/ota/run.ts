// The update as the running node drives it (docs/ota.md, "Integration"): at boot where it
// stands (finishing a check or switch a cut interrupted), the manifest from the node's ota
// topic, chunks fetched in small rounds over the link (all of them on mains, a bounded number
// per wake on battery), the ota-state report published retained when it changed, the restart
// into a switched bundle, and the confirmation after the first acknowledged upload.
// Firmware code: ES5, Espruino subset.

import type { Runtime } from "../runtime/state.js";
import type { Uplink } from "../uplink/link.js";
import { otaStart, otaFinish, otaManifest, otaWanted, otaChunk, otaConfirm, OtaDeps, OtaStatus } from "./agent.js";
import { otaTopic, otaStateTopic, reportPayload, OTA_CHUNK_ROOT } from "./messages.js";
import { MAX_HASH_FAILS } from "./stage.js";
import { markStable } from "../runtime/safemode.js";
import { useNativeCrc } from "../runtime/store.js";
import { sha256 } from "../crypto/sha256.js";

/** chunks a battery node fetches per wake unless its board profile says otherwise (94 for a 70 KB bundle: 4 wakes) */
export const OTA_BATTERY_CHUNKS_PER_WAKE = 24;
/** chunk topics subscribed at once: their retained chunks arrive together (RAM: ~4 x 800 bytes) */
const ROUND_CHUNKS = 4;
/** a round whose chunks did not all come in this long ends the fetch (the broker lacks them, or the link is slow) */
const ROUND_WAIT_MS = 20000;
/** mains: the trial report gets this long to leave before the restart (the new bundle says it again) */
const RESTART_DELAY_MS = 1500;

export interface OtaRun {
  d: OtaDeps;
  st: OtaStatus;
  topic: string;
  stateTopic: string;
  /** the current round's chunk topics, those still due, its timer, who waits for the fetch */
  round: string[];
  due: string[];
  timer: any;
  done: ((reboot: boolean) => void) | null;
  left: number;
  staged: number;
  /** the report on its way (awaiting PUBACK): not sent twice */
  sending: string;
  /** restart when the fetch in progress ends */
  reboot: boolean;
}

/**
 * At boot, once the store and config are loaded: where an update stands (rt.ota), and a check
 * or switch a cut interrupted done now. true: restart now (into the bundle just switched to).
 */
export function otaBoot(rt: Runtime): boolean {
  var p = rt.platform, c = rt.config, o: OtaRun;
  if (!p.crc32 || rt.configErrors.length) return false;
  // this part's own copy of the store's seals (rollup.config.mjs LAZY_PARTS)
  useNativeCrc(p.crc32);
  try {
    var d: OtaDeps = {
      storage: p.storage, crc: p.crc32, sha256: p.sha256 || sha256, node: c.node, board: rt.board.name, fw: rt.fw, slot: p.otaSlot || "", keyHex: c.keyHex,
      queue: function () {
        return { queued: rt.store.queued(), max: rt.config.queueMax };
      },
      room: function () {
        return rt.store.room();
      },
      log: function (line: string) {
        rt.log(line);
      },
      kick: function () {
        p.watchdog.kick();
      },
    };
    o = rt.ota = { d: d, st: otaStart(d), topic: otaTopic(c.site, c.node), stateTopic: otaStateTopic(c.site, c.node), round: [], due: [], timer: null, done: null, left: 0, staged: 0, sending: "", reboot: false };
    if (o.st.report && (o.st.report.state !== "done" || rt.bootCause !== "deep-sleep")) rt.log("ota: " + o.st.report.state + (o.st.report.detail ? " (" + o.st.report.detail + ")" : "") + ", running " + rt.fw);
    if (!otaFinish(d, o.st).reboot) {
      noteIdle(rt);
      return false;
    }
    markStable(rt.store.state);
    return true;
  } catch (e) {
    rt.log("ota: " + e);
    rt.ota = null;
    return false;
  }
}

/** a staged update is waiting for chunks, or the bundle on trial has not confirmed yet: worth a connection */
export function otaWantsLink(rt: Runtime): boolean {
  var o = rt.ota, rec = o && o.st.rec;
  if (!o) return false;
  if (rec && rec.n > 0 && o.d.slot === rec.run) return true;
  return !!o.st.job && o.st.job.fails < MAX_HASH_FAILS && otaWanted(o.d, o.st, 1).length > 0;
}

/** publish the report, retained, if it differs from the last one the broker acknowledged */
export function otaPublish(rt: Runtime, up: Uplink): void {
  var o = rt.ota, st = rt.store.state;
  if (!o || !o.st.report || !up.isUp()) return;
  var payload = reportPayload(o.st.report), run = o;
  if (payload === st.otaSent || payload === o.sending) return;
  o.sending = payload;
  up.publishTo(o.stateTopic, payload, true, function (err) {
    if (!err) st.otaSent = payload;
    if (run.sending === payload) run.sending = "";
    noteIdle(rt);
  });
}

/**
 * Whether the next boot may skip this code (firmware/ota/lazy.ts): nothing staged, nothing on
 * trial, and the broker has the last report.
 */
function noteIdle(rt: Runtime): void {
  var o = rt.ota, rec = o && o.st.rec;
  if (!o) return;
  rt.store.state.otaIdle = !o.st.job && !(rec && rec.n > 0) && (!o.st.report || reportPayload(o.st.report) === rt.store.state.otaSent);
}

/** The bundle has booted, configured its sensors and had an upload acknowledged: if on trial, keep it. */
export function otaUploaded(rt: Runtime, up: Uplink | null): void {
  var o = rt.ota;
  if (!o) return;
  try {
    if (otaConfirm(o.d, o.st) && up) otaPublish(rt, up);
  } catch (e) {
    rt.log("ota: confirm failed: " + e);
  }
  noteIdle(rt);
}

/** A message on the node's ota topic or a chunk topic (the link hands over every topic but cmd). */
export function otaMessage(rt: Runtime, up: Uplink, topic: string, payload: string): void {
  var o = rt.ota, i: number;
  if (!o) return;
  if (topic === o.topic) {
    // empty: the back office cleared the retained manifest (casanode ota --clear), nothing to do
    if (!payload) return;
    o.st.report = otaManifest(o.d, o.st, payload);
    noteIdle(rt);
    rt.log("ota: manifest: " + o.st.report.state + (o.st.report.error ? " " + o.st.report.error : "") + (o.st.report.detail ? " (" + o.st.report.detail + ")" : ""));
    otaPublish(rt, up);
    if (o.st.restart) {
      o.st.restart = false;
      // the fetch in progress (battery) ends with a restart instead of a sleep
      if (o.done) o.reboot = true;
      else restartSoon(rt);
      return;
    }
    // mains fetch at once; a battery session fetches after its upload
    if (rt.mains) otaFetch(rt, up, null);
    return;
  }
  if (topic.substring(0, OTA_CHUNK_ROOT.length + 1) !== OTA_CHUNK_ROOT + "/" || (i = o.due.indexOf(topic)) < 0) return;
  o.due.splice(i, 1);
  var out = otaChunk(o.d, o.st, topic, payload);
  // something thrown away (a chunk's CRC, the bundle hash, a torn write): said at once, not
  // covered by the next round's progress
  if (out.report && out.report.error) otaPublish(rt, up);
  else o.staged++;
  if (out.reboot) return endFetch(rt, up, true);
  if (!o.due.length) nextRound(rt, up);
}

/**
 * Fetch missing chunks over the open link: mains all of them, battery the board's bound per
 * wake. done(reboot) once this wake's share is in (or stopped coming); reboot: the bundle is
 * staged, checked and switched to. Mains restart by themselves then; battery ones have
 * rt.rebootWanted set (the cycle restarts instead of sleeping).
 */
export function otaFetch(rt: Runtime, up: Uplink, done: ((reboot: boolean) => void) | null): void {
  var o = rt.ota;
  if (!o || o.done || !up.client) {
    if (done) done(false);
    return;
  }
  o.done =
    done ||
    function () {
      // a mains fetch ends by itself; the next tick or manifest starts another
    };
  o.left = rt.mains ? 1e9 : rt.board.otaChunksPerWake || OTA_BATTERY_CHUNKS_PER_WAKE;
  o.staged = 0;
  nextRound(rt, up);
}

function nextRound(rt: Runtime, up: Uplink): void {
  var o = rt.ota as OtaRun, m = up.client, want: string[];
  unsubscribeRound(o, up);
  if (!m || !up.isUp() || o.left <= 0) return endFetch(rt, up, false);
  want = otaWanted(o.d, o.st, Math.min(ROUND_CHUNKS, o.left));
  // nothing wanted, or the last round staged nothing (a chunk bad on the broker): stop here
  if (!want.length || (o.round.length && !o.staged)) return endFetch(rt, up, false);
  o.left -= want.length;
  o.staged = 0;
  o.round = want;
  o.due = want.slice();
  o.timer = setTimeout(function () {
    o.timer = null;
    rt.log("ota: " + o.due.length + " chunks did not come in " + ROUND_WAIT_MS / 1000 + " s");
    endFetch(rt, up, false);
  }, ROUND_WAIT_MS);
  for (var i = 0; i < want.length; i++) m.subscribe(want[i], 0);
}

function unsubscribeRound(o: OtaRun, up: Uplink): void {
  if (o.timer) clearTimeout(o.timer);
  o.timer = null;
  if (o.round.length && up.client && up.isUp()) up.client.unsubscribe(o.round);
  o.due = [];
}

function endFetch(rt: Runtime, up: Uplink, reboot: boolean): void {
  var o = rt.ota as OtaRun, cb = o.done;
  unsubscribeRound(o, up);
  o.round = [];
  o.done = null;
  noteIdle(rt);
  otaPublish(rt, up);
  reboot = reboot || o.reboot;
  o.reboot = false;
  if (reboot) restartSoon(rt);
  if (cb) cb(reboot);
}

/** battery: restart instead of the next sleep; mains: restart once the report had time to leave */
function restartSoon(rt: Runtime): void {
  rt.rebootWanted = true;
  // a restart the update asks for is no crash: it must not count towards a boot loop (five
  // in a row put the new bundle in safe mode, where it never uploads and so never confirms)
  markStable(rt.store.state);
  rt.store.save();
  if (rt.mains)
    setTimeout(function () {
      rt.log("ota: restarting");
      rt.platform.reboot();
    }, RESTART_DELAY_MS);
}
