// require("dgram") of Espruino 2v29 (libs/network/jswrap_net.c, libs/network/socketserver.c),
// on the simulated network: no real UDP. A datagram to port SIM_NTP_PORT reaches the world's
// NTP server (sim/ntp-server.ts), whose reply comes back one network round trip later through
// the virtual clock; a datagram to any other port goes nowhere (UDP: no answer, no error).
//
// What a program sees, as in the source:
// - createSocket(type, cb): type "udp4" or an options object; cb is a "connect" listener.
//   "connect" (with the socket) fires once, at the first idle after the first send: that send
//   makes the OS socket and its first recv() returns no error (socketserver.c:1012
//   clientRequestConnect, then socketserver.c:693 "did we just get connected?").
// - send(msg, port, address) or send(msg, offset, length, port, address) (jswrap_net.c:497): the
//   5-argument form is chosen when the 4th argument is a number or boolean (jsvIsNumeric); msg
//   is made a string as jsvAsString does (a Uint8Array becomes "1,2,3": send strings). Returns
//   undefined. After close() it throws "This socket is closed" (socketserver.c:934-935).
//   (A build with asserts, such as a local Linux build, stops at ASSERT(jsvIsString(buffer)) or
//   ASSERT(jsvIsNumeric(port)) instead; release builds (RELEASE=1: NO_ASSERT) carry on as here.)
// - "message" (msg, rinfo): msg a binary string, rinfo {address, port, size} (socketserver.c:386-409).
// - close(): "end", then "close" with false (no error), and nothing more arrives.
// - bind(port, cb): returns the socket; cb (a "bind" listener) gets the socket. Later sends go
//   out of the bound socket and their replies arrive; replies to sends made before bind() are
//   lost, as bind() replaces the socket Espruino reads (serverListen, socketserver.c:872).
//   Nothing in the simulated world sends to a bound port unasked.
// - no network, or a name that does not resolve: SILENCE. No exception, no "error" event,
//   no reply ("connect" still fires):
//   * networkGetFromVarIfOnline() throws "Not connected to the internet" only when networkState
//     is not ONLINE (network.c:274-275), but the ESP32 build sets it ONLINE at start-up whatever
//     Wi-Fi does (esp32/jswrap_esp32_network.c:731), and the Linux build starts ONLINE (network.c:46-48).
//   * a name is resolved per datagram in clientRequestWrite (socketserver.c:995-1003, :999) with no
//     check: networkGetHostByName leaves 0 when gethostbyname fails (network.c:177-187), and
//     the datagram goes to 0.0.0.0. ("Unable to locate host" at socketserver.c:1043 is for the
//     socket's own options.host, which createSocket never sets: 127.0.0.1.)
//   * with the link down lwIP's sendto fails, but esp32/network_esp32.c:303 adds the header size
//     to its -1, so socketSendData never sees an error and fires no "error" event.
// Not modelled: "drain" events, addMembership (accepted, does nothing), the time a DNS lookup
// blocks the interpreter.

import type { BootHost, EspruinoBoot } from "./context.js";
import { DEFAULT_NET_LATENCY } from "./net.js";
import { ntpServerReply } from "../ntp-server.js";
import { listenerMethods } from "./listeners.js";

/** datagrams to this port (any host) reach the simulated world's NTP server */
export const SIM_NTP_PORT = 123;
/** what a name resolves to: the one server the simulated internet has for datagrams (TEST-NET-3) */
export const SIM_NTP_SERVER_ADDRESS = "203.0.113.123";

/** the world has an NTP server answering at that true time (BootHost.ntp, default yes) */
export function ntpServerUp(host: Pick<BootHost, "ntp">, tMs: number): boolean {
  const n = host.ntp;
  return n === undefined ? true : typeof n === "function" ? n(tMs) : n;
}

/** the node's side of the network, as datagrams need it (ESP32: sim/espruino/require-wifi.ts) */
export interface DgramLink {
  /** the link carries packets beyond the access point */
  routable(): boolean;
  /** names resolve (DHCP gave a DNS server) */
  dns(): boolean;
}

type Listener = (...args: any[]) => any;

class DgramSocket {
  readonly api: any;
  private listeners: { [event: string]: Listener[] } = {};
  /** close() was called: sends throw, replies are dropped */
  closing = false;
  /** "close" was delivered: nothing more is */
  private finished = false;
  private connected = false;
  /** the OS socket replies come to: bind() makes a new one */
  generation = 0;

  constructor(private wiring: DgramWiring) {
    const api = <T extends (...a: any[]) => any>(f: T) => wiring.boot.api(f);
    this.api = {
      send: api((buffer: any, offset: any, length: any, ...args: any[]) => this.send(buffer, offset, length, args)),
      close: api(() => this.close()),
      bind: api((port: any, callback?: any) => this.bind(port, callback)),
      addMembership: api(() => undefined),
      ...listenerMethods(api, () => this.listeners, () => (this.listeners = {})),
    };
  }

  on(event: string, listener: Listener): void {
    (this.listeners[event] ??= []).push(listener);
  }

  private send(buffer: any, offset: any, length: any, args: any[]): void {
    const boot = this.wiring.boot;
    if (this.closing) throw boot.error("This socket is closed");
    let msg: string | undefined, port: any, address: any;
    if (typeof args[0] === "number" || typeof args[0] === "boolean") {
      // jsvAppendStringVar(msg, buffer, from, count): size_t, so a negative start takes nothing and a negative count the rest
      const from = toInt(offset), count = toInt(length), s = String(buffer);
      msg = from < 0 ? "" : count < 0 ? s.substring(from) : s.substr(from, count);
      port = args[0];
      address = args[1];
    } else {
      // an undefined buffer is no JsVar at all: nothing is queued (clientRequestWrite: `if (data && sendData)`)
      msg = buffer === undefined ? undefined : String(buffer);
      port = offset;
      address = length;
    }
    if (!this.connected) {
      this.connected = true;
      this.wiring.local(() => this.deliver("connect", [this.api]));
    }
    if (msg !== undefined) this.wiring.datagram(this, msg, toInt(port) & 0xffff, String(address).slice(0, 127));
  }

  private close(): void {
    if (this.closing) return;
    this.closing = true;
    this.wiring.local(() => {
      this.deliver("end", []);
      this.deliver("close", [false]);
      this.wiring.forget(this);
    });
  }

  private bind(_port: any, callback?: any): any {
    // jsvObjectSetChild(parent, "#onbind", callback): replaces any "bind" listener
    this.listeners.bind = typeof callback === "function" ? [callback] : [];
    this.generation++;
    this.wiring.local(() => this.deliver("bind", [this.api]));
    return this.api;
  }

  deliver(event: string, args: any[]): void {
    if (this.finished) return;
    if (event === "close") this.finished = true;
    for (const l of (this.listeners[event] ?? []).slice()) this.wiring.boot.invoke(l, this.api, args);
  }

  /** the boot ended: nothing more reaches the firmware */
  kill(): void {
    this.closing = this.finished = true;
  }
}

export class DgramWiring {
  private sockets = new Set<DgramSocket>();
  private timers = new Set<number>();

  constructor(readonly boot: EspruinoBoot, private link: DgramLink) {}

  module(): any {
    const boot = this.boot;
    return {
      createSocket: boot.api((type?: any, callback?: any) => {
        if (callback !== undefined && typeof callback !== "function") {
          // jsError, not an exception: printed, and createSocket returns undefined (jswrap_net.c jswrap_net_connect)
          boot.print(`ERROR: Expecting Callback Function but got ${typeof callback === "string" ? "String" : typeof callback}\n`);
          return undefined;
        }
        const sock = new DgramSocket(this);
        if (callback) sock.on("connect", callback);
        this.sockets.add(sock);
        return sock.api;
      }),
    };
  }

  /** a closed socket: nothing left to stop at the end of the boot */
  forget(sock: DgramSocket): void {
    this.sockets.delete(sock);
  }

  /** an event the chip makes itself: the next idle, no round trip */
  local(fn: () => void): void {
    this.later(fn, 0);
  }

  /** a datagram leaves the node: to the NTP server, or nowhere */
  datagram(sock: DgramSocket, msg: string, port: number, address: string): void {
    const host = this.boot.host, esp32 = host.chip === "esp32";
    if (esp32 && !this.link.routable()) return;
    let ip = parseIp(address);
    if (ip === 0 && isHostName(address) && (!esp32 || this.link.dns())) ip = parseIp(SIM_NTP_SERVER_ADDRESS);
    if (ip === 0 || port !== SIM_NTP_PORT) return; // 0.0.0.0 (unresolved) or no server there
    const l = host.netLatency ?? DEFAULT_NET_LATENCY, now = host.clock.now();
    const rtt = l.rttMinMs + (host.netRng ?? host.rng)() * (l.rttMaxMs - l.rttMinMs);
    // the server stamps the true time as the request reaches it: half way
    const at = now + rtt / 2;
    const reply = ntpServerUp(host, at) ? ntpServerReply(msg, at) : null;
    if (!reply) return;
    const rinfo = { address: dotted(ip), port, size: reply.length }, generation = sock.generation;
    this.later(() => {
      if (sock.closing || sock.generation !== generation) return; // nobody reads that socket any more
      if (esp32 && !this.link.routable()) return; // lost on the way back
      sock.deliver("message", [reply.toString("latin1"), this.boot.obj(rinfo)]);
    }, rtt);
  }

  private later(fn: () => void, ms: number): void {
    const clock = this.boot.host.clock;
    const id = clock.setTimeout(() => {
      this.timers.delete(id);
      if (this.boot.alive) fn();
    }, ms);
    this.timers.add(id);
  }

  /** the boot ends: sockets go, and nothing on its way is delivered */
  stop(): void {
    for (const id of this.timers) this.boot.host.clock.clearTimeout(id);
    this.timers.clear();
    for (const s of this.sockets) s.kill();
    this.sockets.clear();
  }
}

/** jsvGetInteger, near enough: numbers truncate, numeric strings parse, the rest is 0 */
function toInt(v: any): number {
  const n = Math.trunc(Number(v));
  return Number.isFinite(n) ? n : 0;
}

/** Espruino's networkParseIPAddress (network.c:56): "localhost", or digits and dots; 0 = a name */
function parseIp(s: string): number {
  if (s === "localhost") return 0x0100007f;
  let n = 0, addr = 0;
  for (const c of s) {
    if (c >= "0" && c <= "9") n = (Math.imul(n, 10) + c.charCodeAt(0) - 48) | 0; // a C int
    else if (c === ".") {
      addr = ((addr >>> 8) | (n << 24)) >>> 0;
      n = 0;
    } else return 0;
  }
  return ((addr >>> 8) | (n << 24)) >>> 0;
}

/** the address as lwIP holds it (first octet in the low byte) */
function dotted(ip: number): string {
  return [ip & 255, (ip >>> 8) & 255, (ip >>> 16) & 255, ip >>> 24].join(".");
}

/** what a DNS server could answer: dotted labels of letters, digits and hyphens */
function isHostName(s: string): boolean {
  return /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\.?$/.test(s);
}
