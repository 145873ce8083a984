import { expect } from "chai";
import { NetWiring } from "../../../sim/espruino/require-net.js";
import { VirtualClock } from "../../../sim/clock.js";
import { createRng } from "../../../sim/random.js";

/**
 * What a node receives at one virtual instant reaches its firmware one round trip later,
 * however the host's TCP cut those bytes into reads: the same delivery time, and the same
 * round-trip draws afterwards. (A reply split into more segments used to draw more round
 * trips, so a node's later timings and charge depended on the process it ran in.)
 */
describe("require('net') round trips", () => {
  const deliveries = (burstSizes: number[]) => {
    const clock = new VirtualClock();
    const startMs = clock.now();
    const host = { clock, rng: createRng(7), netLatency: { rttMinMs: 20, rttMaxMs: 60, tlsHandshakeMs: 0 }, chip: "linux", brokerReachable: () => true } as any;
    let schedule: (fn: () => void) => void = () => {};
    host.createNet = (o: { schedule: (fn: () => void) => void }) => {
      schedule = o.schedule;
      return { connect: () => ({}), poll() {}, openSockets: () => 0, cutAll() {} };
    };
    const boot = { host, alive: true, invoke: (fn: () => void) => fn(), api: (f: any) => f } as any;
    new NetWiring(boot, () => true).netModule();
    const at: number[][] = [];
    burstSizes.forEach((n, burst) => {
      clock.runUntil(startMs + burst * 1000);
      // one reply, cut into n reads at this instant
      const times: number[] = [];
      at.push(times);
      for (let i = 0; i < n; i++) schedule(() => times.push(clock.now() - startMs));
    });
    clock.runUntil(startMs + burstSizes.length * 1000 + 1000);
    return at.map((times) => [...new Set(times)]);
  };

  it("delivers a reply one round trip later whether it came in one read or several, and draws the same later round trips", () => {
    const oneRead = deliveries([1, 1, 1]);
    const cut = deliveries([3, 1, 4]);
    expect(cut).to.deep.equal(oneRead);
    for (const [burst, times] of oneRead.entries()) {
      expect(times).to.have.length(1);
      expect(times[0] - burst * 1000).to.be.within(20, 60);
    }
  });

  it("keeps events in order: a later instant never overtakes an earlier one", () => {
    const times = deliveries([2, 2, 2, 2, 2, 2]).flat();
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
  });
});
