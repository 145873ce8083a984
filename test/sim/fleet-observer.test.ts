import { expect } from "chai";
import { countReading, plausibleTime, RECENT_READINGS, CLOCK_TOLERANCE_MS } from "../../sim/fleet-observer.js";

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
