// The maintenance console's commands (casanode.diag() and the rest: console.ts). Kept out of the
// code every wake lexes: a bundle evaluates it from a string the first time a crew calls one
// (rollup.config.mjs `LAZY_PARTS`; uplink/lazy.ts consoleApi). Firmware code: ES5, Espruino subset.

import type { Runtime } from "./state.js";
import { maskConfig } from "./diag-figures.js";
import type { ConsoleGuard } from "./lock-guard.js";
import { diagReport } from "./console.js";
import type { NodeConsole } from "./console.js";

export function makeConsole(rt: Runtime, lock?: ConsoleGuard | null): NodeConsole {
  var p = function (s: string) {
    // every casanode.* call prints: the console is in use, keep it unlocked
    if (lock) lock.touch();
    rt.log(s);
  };
  return {
    diag: function () {
      var d = diagReport(rt), c = d.counters, k: string, i: number;
      p("CasaNode " + d.fw + " " + d.board + " " + d.site + "/" + d.node + "  up " + d.uptimeS + " s, boot=" + d.boot);
      if (d.safe) p("SAFE MODE: " + d.safe);
      for (i = 0; i < d.configErrors.length; i++) p("config: " + d.configErrors[i]);
      p("readings " + c.readings + "  acked " + c.acked + "  queued " + d.queue.depth + "/" + d.queue.max + "  dropped " + c.dropped + "  published " + c.published);
      p("cycles " + c.cycles + "  wakes " + c.wakes + "  boots " + c.boots + "  uploads " + c.uploads + " ok, " + c.uploadFails + " failed  cmds " + c.cmds + " ok, " + c.cmdErrors + " refused");
      for (k in d.devices) {
        var dv = d.devices[k];
        p("  " + k + " (" + dv.model + (dv.fitted ? "" : ", absent") + "): " + dv.now + "; " + dv.reads + " reads, " + dv.faults + " faults" + (dv.lastFault ? ", last: " + dv.lastFault : ""));
        if (dv.desc) p("    " + dv.desc);
      }
      if (d.alarms.length) p("alarms: " + d.alarms.join(", "));
      if (d.memory) p("memory: " + d.memory.free + " of " + d.memory.total + " vars free");
      p("energy: " + d.energy.mAh + " mAh so far; flash: " + d.flash.bytesPerDay + " B/day" + (d.flash.lifeYears ? ", ~" + d.flash.lifeYears + " years" : "") + (d.flash.error ? " (" + d.flash.error + ")" : ""));
      p("last upload: " + (d.upload.last ? new Date(d.upload.last * 1000).toISOString() + (d.upload.ok ? " ok" : " FAILED") : "never") + (d.upload.connected ? " (connected)" : ""));
      var b: string[] = [];
      for (i = 0; i < d.boots.length; i++) b.push(d.boots[i][1] + "@" + new Date(d.boots[i][0]).toISOString());
      if (b.length) p("boots: " + b.join(" "));
      return d;
    },
    status: function () {
      var st = rt.store.state;
      var s = rt.config.node + ": " + (rt.safe ? "SAFE MODE (" + rt.safe + ")" : "running") + ", queue " + rt.store.queued() +
        ", next cycle " + (st.next ? new Date(st.next).toISOString() : "-") + (st.alarms.length ? ", alarms " + st.alarms.join(",") : "");
      p(s);
      return s;
    },
    config: function () {
      var m = maskConfig(rt.config);
      p(JSON.stringify(m));
      for (var i = 0; i < rt.configErrors.length; i++) p("refused: " + rt.configErrors[i]);
      return m;
    },
    queue: function () {
      var q = { depth: rt.store.queued(), max: rt.config.queueMax, files: rt.store.state.q.next - rt.store.state.q.done - 1, dropped: rt.store.state.c.dropped };
      p(JSON.stringify(q));
      return q;
    },
    help: function () {
      var s = "casanode.diag()   full report (also on the diag topic)\n" +
        "casanode.status() one line: mode, queue, next cycle, alarms\n" +
        "casanode.config() the config in use (secrets masked) and why a file was refused\n" +
        "casanode.queue()  readings waiting for upload\n" +
        "casanode.restart() save and restart\n" +
        "casanode.selftest() checks: config, store, safe mode, each device, memory, clock, network\n" +
        "casanode.lock()   lock the console now (it locks itself after 10 min without a casanode.* call)\n" +
        "casanode.help()   this";
      p(s);
      return s;
    },
    lock: function () {
      if (!lock) return false;
      // after this line's reply is out: a locked console prints nothing of the REPL's
      setTimeout(function () {
        (lock as ConsoleGuard).lock();
      }, 0);
      return true;
    },
    restart: function () {
      p("restart (console)");
      rt.store.save();
      // after this line's reply is out
      setTimeout(function () {
        rt.platform.reboot();
      }, 200);
      return true;
    },
    selftest: function () {
      var d = diagReport(rt), checks: any[] = [], k: string, ok = true;
      var check = function (name: string, good: boolean, detail: string) {
        checks.push({ name: name, ok: good, detail: detail });
        if (!good) ok = false;
      };
      check("config", !d.configErrors.length, d.configErrors.length ? d.configErrors.join("; ") : "valid");
      check("store", !d.flash.error, d.flash.error || "readable");
      check("mode", !d.safe, d.safe ? "safe mode: " + d.safe : "normal");
      for (k in d.devices) {
        var dv = d.devices[k];
        check("device " + k, dv.fitted && dv.now.indexOf("ok") === 0, dv.model + ": " + (dv.fitted ? dv.now : "absent"));
      }
      if (d.memory) check("memory", d.memory.free * 10 >= d.memory.total, d.memory.free + " of " + d.memory.total + " vars free");
      check("clock", d.t > 1577836800, d.t > 1577836800 ? "set" : "not set (no time from the network yet)");
      if (rt.board.power.source === "mains") check("network", d.upload.connected, d.upload.connected ? "broker connected" : "broker not connected");
      var r = { ok: ok, checks: checks };
      for (var i = 0; i < checks.length; i++) p((checks[i].ok ? "ok   " : "FAIL ") + checks[i].name + ": " + checks[i].detail);
      return r;
    },
  };
}
