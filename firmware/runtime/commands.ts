// Downlink commands, acted on: a payload from the cmd topic is verified (the format and its
// checks: firmware/messages/commands.ts), its counter persisted, then it is done (relay via the
// streetlight hook, config, diag, reboot); every outcome gets an ack on the ack topic.
// Firmware code: ES5, Espruino subset.

import { verifyCommand, ackMessage, MAX_COMMAND_BYTES } from "../messages/commands.js";
import { sha256 } from "../crypto/sha256.js";
import { patchConfig } from "../config-check.js";
import type { Runtime } from "./state.js";
import { CLOCK_VALID_MS } from "./store.js";
import type { Done } from "../uplink/link.js";
import { relayCommand } from "../streetlight/hook.js";

/** Publish a command's result on the ack topic (and log and count it). */
function ackCommand(rt: Runtime, id: string, ok: boolean, error?: string, detail?: string, done?: Done): void {
  if (!ok) rt.store.state.c.cmdErrors++;
  rt.log("cmd " + id + ": " + (ok ? "ok" : error) + (detail ? " (" + detail + ")" : ""));
  if (rt.uplink) rt.uplink.publish("ack", ackMessage(id, ok, error, detail), false, done);
  else if (done) done("down");
}

/**
 * A cmd message over MAX_INBOUND_BYTES, dropped unread: refused as too-large, with the id
 * if its first bytes carry one (unverified, as for bad-mac), else "".
 */
export function refuseTooLarge(rt: Runtime, bytes: number, head: string): void {
  var c = rt.store.state.c, m = /^\s*\{\s*"id"\s*:\s*"([A-Za-z0-9._-]+)"/.exec(head), id = m && m[1].length <= 32 ? m[1] : "";
  // durable with the next save: a flood of these must not wear the flash
  c.cmdTooLarge = (c.cmdTooLarge || 0) + 1;
  ackCommand(rt, id, false, "too-large", bytes + " > " + MAX_COMMAND_BYTES + " bytes, dropped unread" + (id ? "" : ": id unknown"));
}

/**
 * One payload from the cmd topic: verified (MAC, counter, validity if the clock is set), the
 * counter persisted before acting, then acted on; every outcome gets an ack. Nothing here throws.
 */
export function handleCommand(rt: Runtime, payload: string): void {
  var st = rt.store.state, c = st.c, now = Date.now(), clock = now >= CLOCK_VALID_MS;
  var ack = function (id: string, ok: boolean, error?: string, detail?: string, done?: Done) {
    // without a clock only the counter guards against a stale command: say so
    if (ok && !clock) detail = "clock not set: validity not checked";
    ackCommand(rt, id, ok, error, detail, done);
  };
  try {
    var v = verifyCommand(payload, rt.config.node, rt.config.keyHex, st.ctr, rt.platform.sha256 || sha256, clock ? now : 0);
    if (!v.ok) {
      // a good MAC with a refused command still uses up its counter
      if (v.ctr && v.ctr > st.ctr) {
        st.ctr = v.ctr;
        rt.store.save();
      }
      return ack(v.id || "", false, v.error, v.detail);
    }
    var cmd = v.cmd, a = cmd.args;
    st.ctr = cmd.ctr;
    // persisted before acting: a replay after a power cut is refused (so no counter, no action)
    if (!rt.store.save()) return ack(cmd.id, false, "storage", "counter not saved: " + rt.store.failed);
    c.cmds++;
    if (cmd.cmd === "relay") {
      // the override ends at ts + expiresS when the clock says when that is
      var left = a.expiresS && clock ? Math.max(1, Math.ceil(cmd.ts + a.expiresS - now / 1000)) : a.expiresS;
      var why = relayCommand(rt, a.state, left, now);
      return why ? ack(cmd.id, false, "bad-args", why) : ack(cmd.id, true);
    }
    if (cmd.cmd === "config") {
      var r = patchConfig(rt.fileRaw, st.cfg && st.cfg.base === rt.fileSum ? st.cfg.set : null, a, rt.board);
      if (!r.ok) return ack(cmd.id, false, "bad-args", r.errors[0]);
      st.cfg = { base: rt.fileSum, set: r.patch };
      rt.config = r.config;
      rt.store.save();
      return ack(cmd.id, true);
    }
    if (cmd.cmd === "diag") {
      if (rt.uplink) rt.uplink.diag();
      return ack(cmd.id, true);
    }
    if (cmd.cmd === "reboot") {
      rt.rebootWanted = true;
      // battery nodes reboot instead of sleeping; mains nodes once the ack has left
      if (rt.mains) {
        var gone = false;
        var reboot = function () {
          if (gone) return;
          gone = true;
          rt.store.save();
          rt.platform.reboot();
        };
        ack(cmd.id, true, undefined, undefined, reboot);
        setTimeout(reboot, 5000);
        return;
      }
      return ack(cmd.id, true);
    }
    ack(cmd.id, false, "unknown-command", cmd.cmd);
  } catch (e) {
    ack("", false, "malformed", "node error: " + e);
  }
}
