import { expect } from "chai";
import { countReading, plausibleTime, observerCaughtUp, RECENT_READINGS, CLOCK_TOLERANCE_MS } from "../../sim/fleet-observer.js";
import type { FleetMember } from "../../sim/fleet-members.js";

function member() {
  return { recent: new Map<string, number[]>(), received: 0, duplicates: 0 };
}

describe("fleet observer: streaming counts (sim/fleet-observer.ts)", () => {
  it("counts a QoS 1 resend of a batch as duplicates, and a distinct value at the same name and time as a reading", () => {
    const m = member();
    const batch = Array.from({ length: 30 }, (_, i) => ["pm.pm25@" + (1768435200 + i * 300), 10 + i] as const);
    for (const [k, v] of batch) expect(countReading(m, k, v)).to.equal(true);
    // the PUBACK was lost: the same batch again, with two readings taken since
    for (const [k, v] of batch) expect(countReading(m, k, v)).to.equal(false);
    expect(countReading(m, "pm.pm25@1768444200", 40)).to.equal(true);
    // a node whose clock was never set reuses a time after a power cut: another value there is another reading
    expect(countReading(m, "pm.pm25@1768435200", 99)).to.equal(true);
    expect(countReading(m, "pm.pm25@1768435200", 99)).to.equal(false);
    expect(m).to.include({ received: 32, duplicates: 31 });
  });

  it("remembers a bounded window per node, many batches long, not the whole run", () => {
    const m = member();
    for (let i = 0; i < 10 * RECENT_READINGS; i++) countReading(m, "noise.LAeq@" + i, i);
    expect(m.recent.size).to.equal(RECENT_READINGS);
    expect(m.received).to.equal(10 * RECENT_READINGS);
    // the last several batches (a batch is a few dozen readings) are still recognised when resent
    for (let i = 10 * RECENT_READINGS - 100; i < 10 * RECENT_READINGS; i++) expect(countReading(m, "noise.LAeq@" + i, i)).to.equal(false);
    expect(m.duplicates).to.equal(100);
  });
});

describe("fleet observer: plausible times (sim/fleet-observer.ts)", () => {
  const start = Date.UTC(2026, 0, 15), at = start + 3_600_000;
  it("takes a sample stamped in the run, up to its arrival and a synced clock's error past it; not later, nor before the run", () => {
    expect(plausibleTime("pm.pm25", { time: (at - 60_000) / 1000 }, start, at)).to.equal(true);
    expect(plausibleTime("pm.pm25", { time: (at + CLOCK_TOLERANCE_MS) / 1000 }, start, at)).to.equal(true);
    expect(plausibleTime("pm.pm25", { time: (at + CLOCK_TOLERANCE_MS + 1000) / 1000 }, start, at), "stamped after it arrived").to.equal(false);
    expect(plausibleTime("pm.pm25", { time: (start - 5000) / 1000 }, start, at), "before the run").to.equal(false);
    expect(plausibleTime("noise.Lden", { time: (start - 3_600_000) / 1000 }, start, at), "a day's level, stamped with the day's start").to.equal(true);
    expect(plausibleTime("pm.pm25", { time: 100, relative: true }, start, at)).to.equal(false);
  });
});

describe("fleet observer: the end of a run waits for the broker's copies (sim/fleet-observer.ts observerCaughtUp)", () => {
  const members = (...received: number[]) => received.map((r) => ({ ...member(), received: r }) as unknown as FleetMember);
  it("returns once every node's acknowledged readings have reached the observer, however late they trickle in", async () => {
    const ms = members(0, 3);
    // the broker's copies come in late and in pieces, as on a loaded machine (a sharded run missed a node's 4)
    const arrivals = [60, 120, 180, 240].map((t) => setTimeout(() => ms[0].received++, t));
    await observerCaughtUp(ms, (m) => (m === ms[0] ? 4 : 3), 1000);
    arrivals.forEach(clearTimeout);
    expect(ms[0].received).to.equal(4);
  });
  it("gives up after a quiet spell when a count never matches, rather than holding the run", async () => {
    const ms = members(1);
    const t0 = performance.now();
    await observerCaughtUp(ms, () => 2, 100);
    expect(ms[0].received).to.equal(1);
    expect(performance.now() - t0).to.be.at.least(100);
  });
});
