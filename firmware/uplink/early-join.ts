// A planned upload wake joins Wi-Fi before it needs it, so the join overlaps what comes first:
// - sensors ready within the boot (a bin): from the wake prelude (toolchain/wake-prelude.ts),
//   while Espruino still lexes the bundle. At each sleep the scheduler leaves the plan for it in
//   JOIN_PLAN_FILE (when the next upload wake is, how to join; runtime/plan-file.ts: without
//   one the upload joins after the boot); the uplink then takes over the
//   join the prelude began (Platform.earlyJoin).
// - a long sampling (an SDS011's 15 s warm-up): the scheduler starts the join JOIN_LEAD_*_MS
//   before the read ends (startJoin), not from the boot, which would keep the radio on through it.
// Firmware code: ES5, Espruino subset.

import type { Runtime } from "../runtime/state.js";
import { CLOCK_VALID_MS } from "../runtime/store.js";

const DAY_MS = 86400000;

/** {at, s, p[, ip, gw, nm]}: the wake time (ms) from which to join, SSID, password, static address */
export var JOIN_PLAN_FILE = "cn.join";
/** the RTC may wake a little early: the prelude joins from this long before the planned time */
export var JOIN_EARLY_MS = 60000;
/** the global through which the prelude hands its join to the bundle */
export var EARLY_JOIN_GLOBAL = "cnJoin";
/** a join takes at most about this long (static address / DHCP; sim/espruino/wifi.ts figures) */
export var JOIN_LEAD_STATIC_MS = 1000;
export var JOIN_LEAD_DHCP_MS = 4000;

/** a join begun before the uplink opened: by the prelude (global cnJoin) or startJoin; read by the uplink */
export interface EarlyJoin {
  /** Date.now() when the prelude (or startJoin) switched the radio on */
  t0: number;
  /** it joined with the plan's static address */
  ip: boolean;
  /** setIP's answer (inverted in Espruino: "Failure" means it worked), once its event ran */
  ipOk?: boolean;
  /** connect's answer once it came: null joined, else the error */
  e?: string | null;
  /** who waits for connect's answer */
  cb?: (err: string | null) => void;
}

export interface JoinPlan {
  at: number;
  s: string;
  p: string;
  ip?: string;
  gw?: string;
  nm?: string;
}

/** The prelude's join, begun by the firmware itself (a long warm-up); null if it could not start. */
export function startJoin(w: WifiModule, plan: JoinPlan): EarlyJoin | null {
  var g: EarlyJoin = { t0: Date.now(), ip: !!plan.ip };
  try {
    if (plan.ip) {
      (w.setIP as any)({ ip: plan.ip, gw: plan.gw, netmask: plan.nm }, function (r: string | null) {
        g.ipOk = r !== null;
      });
    }
    w.connect(plan.s, { password: plan.p }, function (e: any) {
      var err = e ? String(e) : null;
      g.e = err;
      if (g.cb) g.cb(err);
    });
  } catch (e) {
    // the uplink joins as usual
    return null;
  }
  return g;
}

/**
 * A battery join at `at` uses the static address configured, unless it failed in the day
 * before, and only while DHCP (SNTP by name needs its DNS) worked within that day; not before
 * SNTP has told a new node its RTC's rate (runtime/rtc-rate.ts rateDue).
 */
export function staticWanted(rt: Runtime, at: number): boolean {
  var st = rt.store.state, w = rt.platform.wifi as WifiModule;
  if (!rt.config.wifi.ip || !w || !w.setIP || at < CLOCK_VALID_MS || st.rr === undefined) return false;
  return !(st.ipFail && at - st.ipFail < DAY_MS) && !!st.dhcpAt && at - st.dhcpAt < DAY_MS;
}
