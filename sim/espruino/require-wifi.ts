// require("Wifi") on the ESP32: the firmware's view of SimWifi (sim/espruino/wifi.ts), which
// joins the node's simulated network and switches the radio (energy trace).

import type { EspruinoBoot } from "./context.js";
import { HALT } from "./halt.js";
import { SimWifi } from "./wifi.js";
import { ntpServerUp } from "./require-dgram.js";

const WIFI_METHODS = ["connect", "disconnect", "on", "removeListener", "removeAllListeners", "getIP", "getDetails", "getStatus", "setSNTP", "setIP", "setHostname", "save"] as const;

export class WifiWiring {
  private wifi: SimWifi | undefined;

  constructor(private boot: EspruinoBoot, private linkDown: () => void) {}

  /** an address and a route to the broker (static or DHCP) */
  get routable(): boolean {
    return !!(this.wifi && this.wifi.routable);
  }

  /** names resolve (DHCP gave a DNS server) */
  get dns(): boolean {
    return !!(this.wifi && this.wifi.dns);
  }

  module(): any {
    const boot = this.boot, host = boot.host;
    const w = host.wifi!;
    const wifi = new SimWifi({
      clock: host.clock,
      network: w.network,
      rng: host.rng,
      invoke: (fn, args) => boot.event(fn, args),
      check: () => {
        if (!boot.alive) throw HALT;
      },
      radio: (on) => host.radio(on),
      link: (up) => {
        if (!up) this.linkDown();
      },
      timeSynced: () => {
        if (ntpServerUp(host, host.clock.now())) host.rtcSync();
      },
      obj: (o) => boot.obj(o),
      error: (m) => boot.error(m),
      ip: w.ip,
      mac: w.mac,
      rssiDbm: w.rssiDbm,
      reportsFailure: w.reportsFailure,
    });
    this.wifi = wifi;
    const mod: any = {};
    for (const m of WIFI_METHODS) mod[m] = boot.api((...args: any[]) => (wifi as any)[m](...args));
    return mod;
  }

  stop(): void {
    this.wifi?.shutdown();
  }
}
