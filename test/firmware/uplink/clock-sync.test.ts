// What an SNTP answer teaches a battery node about its RTC (firmware/uplink/clock-sync.ts).
import { expect } from "chai";
import { learnRate } from "../../../firmware/uplink/clock-sync.js";
import type { NodeState } from "../../../firmware/runtime/state.js";

const T = Date.UTC(2026, 11, 6);
const HOUR = 3_600_000;
const state = (s: Partial<NodeState>) => ({ en: {}, ...s }) as NodeState;

describe("learnRate (firmware/uplink/clock-sync.ts)", () => {
  it("a clock 72 s ahead 2 real hours after the last answer: the RTC runs 1 % fast", () => {
    const st = state({ syncAt: T });
    learnRate(st, -72_000, T + 2 * HOUR + 72_000);
    expect(st.rr).to.be.closeTo(0.01, 1e-9);
    expect(st.syncAt).to.equal(T + 2 * HOUR);
    expect(st.syncOff).to.equal(0);
  });

  it("refines a known rate by what the clock still gained while corrected with it", () => {
    const st = state({ syncAt: T, rr: 0.01 });
    // corrected at 1 %, the clock still gained 7.2 s in 2 h: the RTC runs ~1.1 % fast
    learnRate(st, -7200, T + 2 * HOUR + 7200);
    expect(st.rr).to.be.closeTo(0.01 + 1.01 * 0.001, 1e-9);
  });

  it("counts only the time slept (the crystal times the rest): awake 1 % of two hours, 1 % fast asleep", () => {
    const asleep = 0.99 * 2 * HOUR, gain = 0.01 * asleep;
    // booked on the clock, the sleeps counted the gain too
    const st = state({ syncAt: T, syncSlept: 1000, en: { sleep: 1000 + asleep + gain } });
    learnRate(st, -gain, T + 2 * HOUR + gain);
    expect(st.rr).to.be.closeTo(0.01, 1e-9);
    expect(st.syncSlept).to.equal(1000 + asleep + gain);
  });

  it("sums the corrections of answers less than an hour apart into the measure", () => {
    const st = state({ syncAt: T, rr: 0 });
    learnRate(st, -18_000, T + 30 * 60_000 + 18_000);
    expect(st.rr).to.equal(0);
    expect(st.syncAt).to.equal(T);
    expect(st.syncOff).to.equal(-18_000);
    // the clock was set back 18 s then; 30 min later it is 18 s ahead again
    learnRate(st, -18_000, T + HOUR + 18_000);
    expect(st.rr).to.be.closeTo(0.01, 1e-9);
  });

  it("learns nothing from a first answer, a rate beyond the oscillator's (a clock set by hand), or a tiny one", () => {
    const first = state({});
    learnRate(first, -5000, T);
    expect(first).to.include({ syncAt: T - 5000 });
    expect(first.rr).to.equal(undefined);
    const byHand = state({ syncAt: T, rr: 0.02 });
    learnRate(byHand, -20 * 60_000, T + 2 * HOUR + 20 * 60_000);
    expect(byHand.rr).to.equal(0.02);
    const exact = state({ syncAt: T });
    learnRate(exact, -30, T + 6 * HOUR + 30);
    expect(exact.rr).to.equal(0);
  });
});
