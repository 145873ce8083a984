// The day levels (Lden, aggregate.ts) in the duty cycle, for a board with a sound level meter:
// its entry hands `ldenHooks` to startNode (node.ts NodeOptions.lden), so a bundle without one
// (the bins) carries none of it, ~1 KB less lexed at every wake. Firmware code: ES5, Espruino subset.

import type { Entry, LdenHooks, NodeState } from "./state.js";
import { CLOCK_VALID_MS } from "./store.js";
import { foldDay, dayEntries, foldPending, placePending } from "./aggregate.js";

export var ldenHooks: LdenHooks = {
  fold: function (st: NodeState, t: number, level: number, prefix: string, tzOffsetMin: number): Entry[] {
    // its hour of the day is not known yet: kept per run-time hour
    if (t < CLOCK_VALID_MS) {
      foldPending(st, t, level, prefix);
      return [];
    }
    var day = foldDay(st, t, level, tzOffsetMin);
    return day ? dayEntries(day, prefix) : [];
  },
  place: function (st: NodeState, offMs: number, tzOffsetMin: number): Entry[] {
    var prefix = st.dp ? st.dp.p : "", days = placePending(st, offMs, tzOffsetMin), out: Entry[] = [];
    for (var i = 0; i < days.length; i++) out = out.concat(dayEntries(days[i], prefix));
    return out;
  },
};
