// require("net") and, on the Linux build, require("tls"): sockets over the node's link to the
// broker (sim/espruino/net.ts), their events delivered one network round trip later through
// the virtual clock, and open sockets checked now and then against broker/link faults.

import type { EspruinoBoot } from "./context.js";
import { createEspruinoNet, DEFAULT_NET_LATENCY, type EspruinoNet } from "./net.js";

/** how often open sockets are checked against broker/link faults, ms */
const NET_POLL_MS = 2000;

export class NetWiring {
  private net: EspruinoNet | undefined;
  /** virtual time of the last socket event handed to the firmware (events keep their order) */
  private lastAt = 0;
  /** the virtual instant whose round trip lastAt is */
  private drawnAt = -1;
  private pollHandle: number | undefined;

  constructor(private boot: EspruinoBoot, private wifiRoutable: () => boolean) {}

  private blocked(): boolean {
    const host = this.boot.host;
    const now = host.clock.now();
    if (!this.boot.alive) return true;
    if (host.chip === "esp32" && !this.wifiRoutable()) return true;
    return !host.brokerReachable(now);
  }

  netModule(): any {
    const boot = this.boot, host = boot.host;
    const make = host.createNet ?? createEspruinoNet;
    const net = make({
      blocked: () => this.blocked(),
      // socket events reach the firmware one round trip later, through the clock
      schedule: (fn) => {
        host.clock.setTimeout(() => boot.invoke(fn, undefined, []), this.delay());
      },
      // the close after end() is the chip's own: no round trip
      scheduleLocal: (fn) => {
        host.clock.setTimeout(() => boot.invoke(fn, undefined, []), 0);
      },
    });
    this.net = net;
    return {
      connect: boot.api((options: any, onConnect?: any) => {
        const sock = net.connect({ host: String(options.host), port: Number(options.port) }, onConnect);
        this.watchSockets();
        return this.wrapSocket(sock);
      }),
    };
  }

  /** net with the handshake's time (bytes stay in clear to the local broker) */
  tlsModule(net: any): any {
    const boot = this.boot, clock = boot.host.clock;
    const hs = (boot.host.netLatency ?? DEFAULT_NET_LATENCY).tlsHandshakeMs;
    return {
      connect: boot.api((options: any, onConnect?: any) => net.connect(options, onConnect && (() => clock.setTimeout(() => boot.invoke(onConnect, undefined, []), hs)))),
    };
  }

  /**
   * ms from now to hand the next socket event over: one round trip, in order. One draw per
   * virtual instant: what arrives at one instant travelled together, however the host's TCP cut
   * it into reads, so a node's timings do not depend on the process it runs in.
   */
  private delay(): number {
    const host = this.boot.host;
    const l = host.netLatency ?? DEFAULT_NET_LATENCY, now = host.clock.now();
    if (now !== this.drawnAt) {
      this.drawnAt = now;
      this.lastAt = Math.max(now + l.rttMinMs + (host.netRng ?? host.rng)() * (l.rttMaxMs - l.rttMinMs), this.lastAt);
    }
    return this.lastAt - now;
  }

  private wrapSocket(sock: NetSocket): any {
    const api = <T extends (...a: any[]) => any>(f: T) => this.boot.api(f);
    return {
      write: api((data: any) => sock.write(String(data))),
      end: api(() => sock.end()),
      on: api((event: any, listener: any) => (sock as any).on(event, listener)),
      removeAllListeners: api((event?: any) => sock.removeAllListeners(event)),
    };
  }

  private watchSockets(): void {
    if (this.pollHandle !== undefined) return;
    const clock = this.boot.host.clock;
    const tick = () => {
      this.pollHandle = undefined;
      if (!this.net || !this.boot.alive) return;
      this.net.poll();
      if (this.net.openSockets() > 0) this.pollHandle = clock.setTimeout(tick, NET_POLL_MS);
    };
    this.pollHandle = clock.setTimeout(tick, NET_POLL_MS);
  }

  /** the link went down: sockets notice now, not at the next poll */
  poll(): void {
    this.net?.poll();
  }

  stop(): void {
    if (this.pollHandle !== undefined) this.boot.host.clock.clearTimeout(this.pollHandle);
    this.pollHandle = undefined;
    this.net?.cutAll();
  }
}
