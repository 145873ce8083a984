// The lamp relay in the duty cycle (runtime/cycle.ts) and in commands (runtime/commands.ts):
// with a streetlight controller (controller.ts, pole boards) the cycle ticks it, shows it every
// relay read and stores its state; without one, a relay command is a plain override kept in the
// store until it expires. A board with a relay hands `relayHooks` to startNode (node.ts
// NodeOptions.relay): a bundle without a relay carries none of this, ~1 KB less lexed at every
// wake (docs/design.md). Firmware code: ES5, Espruino subset.

import type { SensorResult } from "../../drivers/types.js";
import type { Runtime, LampControl, RelayHooks } from "../runtime/state.js";

/** the controller's tick, on mains nodes (switch times within a minute) */
const LAMP_TICK_MS = 60000;

/**
 * Without a streetlight controller: drive the relay from the persisted override ("auto"
 * leaves it as it is). false if the board has no relay.
 */
export function applyRelay(rt: Runtime): boolean {
  var o = rt.store.state.relay;
  if (!rt.actuators.length) return false;
  if (o) rt.actuators[0].set(o.on);
  return true;
}

/** After the drivers' configure() (which left the relay off): the lamp as the stored state says. */
export function startLamp(rt: Runtime): void {
  var lamp = rt.lamp, st = rt.store.state;
  if (!lamp) {
    if (st.relay) applyRelay(rt);
    return;
  }
  if (st.lamp) {
    var why = lamp.restore(st.lamp);
    if (why) rt.log("lamp: stored state refused: " + why);
  }
  lampTick(rt);
  if (rt.mains) {
    setInterval(function () {
      lampTick(rt);
    }, LAMP_TICK_MS);
  }
}

/** the controller decides (sun, override, fail-safe); a change is stored and shown in the status */
function lampTick(rt: Runtime): void {
  var lamp = rt.lamp as LampControl;
  try {
    var r = lamp.tick();
    if (r.switched) rt.log("lamp " + (r.lampOn ? "on" : "off") + " (" + r.reason + ")");
    if (r.stateChanged || r.switched) {
      rt.store.state.lamp = lamp.getState();
      // the retained status shows the lamp as it is now
      if (rt.mains && rt.uplink && rt.uplink.isUp()) rt.uplink.status("online");
    }
  } catch (e) {
    rt.log("lamp: tick failed: " + e);
  }
}

/** Each cycle, before sampling: the controller's tick (once started), or the plain override's expiry. */
export function cycleLamp(rt: Runtime, started: boolean): void {
  var st = rt.store.state;
  if (rt.lamp) {
    if (started) lampTick(rt);
    return;
  }
  if (st.relay && st.relay.until && Date.now() >= st.relay.until) {
    rt.log("relay override expired: auto");
    st.relay = null;
    applyRelay(rt);
  }
}

/** Every read of the relay goes to the controller: a confirmed relay alarm holds the lamp on. */
export function lampRead(rt: Runtime, dev: string, r: SensorResult): void {
  if (!rt.lamp || !rt.actuators.length || dev !== rt.actuators[0].name || !rt.lamp.noteRead(r)) return;
  rt.log("lamp: relay alarm latched, lamp held on");
  rt.store.state.lamp = rt.lamp.getState();
  lampTick(rt);
}

/** what the cycle calls of this file, on a board with a relay */
export var relayHooks: RelayHooks = { start: startLamp, cycle: cycleLamp, read: lampRead };

/**
 * A verified relay command: the controller's override, or the plain relay's (ending `left` s
 * from `now`). Stored (and the status updated) when taken; null then, else why not.
 */
export function relayCommand(rt: Runtime, state: unknown, left: number | undefined, now: number): string | null {
  var st = rt.store.state;
  if (rt.lamp) {
    var why = rt.lamp.command(state, left);
    if (why) return why;
    rt.log("lamp: " + state + (left ? " for " + left + " s" : "") + " (command)");
    st.lamp = rt.lamp.getState();
  } else {
    var on = state === "on" ? true : state === "off" ? false : null;
    st.relay = on === null ? null : { on: on, until: left ? now + left * 1000 : 0 };
    if (!applyRelay(rt)) {
      st.relay = null;
      return "no relay on this board";
    }
  }
  rt.store.save();
  if (rt.lamp && rt.uplink) rt.uplink.status("online");
  return null;
}
