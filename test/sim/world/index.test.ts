import { expect } from "chai";
import fc from "fast-check";
import { createWorld } from "../../../sim/world/index.js";
import { solarElevationDeg, sunTimes, localHour, DAY_MS, HOUR_MS } from "../../../sim/world/daylight.js";
import { noisePeriod, FAST_SLOT_MS } from "../../../sim/world/noise.js";
import { createRng, forkSeed, hash01 } from "../../../sim/random.js";

const T0 = Date.UTC(2026, 0, 15); // the VirtualClock's default start
const MIN = 60_000;

function sample(days: number, stepMs: number, fn: (t: number) => void, from = T0): void {
  for (let t = from; t < from + days * DAY_MS; t += stepMs) fn(t);
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

describe("random", () => {
  it("streams are reproducible per seed and independent per label", () => {
    const a = createRng(7);
    const b = createRng(7);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).to.deep.equal(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).to.equal(true);
    expect(forkSeed(7, "node:air-01")).to.not.equal(forkSeed(7, "node:air-02"));
    expect(forkSeed(7, "x")).to.equal(forkSeed(7, "x"));
    const c = createRng(forkSeed(7, "node:air-01"));
    expect(Array.from({ length: 100 }, () => c())).to.not.deep.equal(xs);
  });

  it("sfc32 is roughly uniform", () => {
    const rng = createRng(123);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) bins[Math.floor(rng() * 10)]++;
    for (const n of bins) expect(n).to.be.within(1800, 2200);
  });

  it("hashes handle time slots beyond 2^32", () => {
    const slot = Math.floor(Date.UTC(2026, 0, 15) / 125); // ~1.4e10
    expect(hash01(1, slot)).to.not.equal(hash01(1, slot + 2 ** 32));
    expect(hash01(1, slot)).to.equal(hash01(1, slot));
  });
});

describe("world models", () => {
  it("are deterministic per (seed, t), whatever the query order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.array(fc.integer({ min: 0, max: 60 * DAY_MS }), { minLength: 1, maxLength: 20 }), (seed, offsets) => {
        const a = createWorld(seed);
        const b = createWorld(seed);
        const ts = offsets.map((o) => T0 + o);
        const read = (w: ReturnType<typeof createWorld>, t: number) => [w.pm(t), w.noiseDb(t), w.binDistanceMm(t), w.temperatureC(t), w.lampCurrentA(t), w.daylightLux(t)];
        const forward = ts.map((t) => read(a, t));
        const backward = [...ts].reverse().map((t) => read(b, t)).reverse();
        expect(backward).to.deep.equal(forward);
        expect(ts.map((t) => read(a, t))).to.deep.equal(forward); // asked again
      }),
      { numRuns: 25 },
    );
  });

  it("differ between seeds, and share city-wide episodes through sharedSeed", () => {
    const a = createWorld(1, { sharedSeed: 99 });
    const b = createWorld(2, { sharedSeed: 99 });
    const t = T0 + 10 * HOUR_MS;
    expect(a.pm(t).pm25).to.not.equal(b.pm(t).pm25);
    expect(a.noiseDb(t)).to.not.equal(b.noiseDb(t));
    expect(a.air.episodes(T0, T0 + 60 * DAY_MS)).to.deep.equal(b.air.episodes(T0, T0 + 60 * DAY_MS));
    expect(a.daylight.cloudCover(t)).to.equal(b.daylight.cloudCover(t));
  });
});

describe("air", () => {
  const w = createWorld(2026);

  it("keeps pm1 <= pm2.5 <= pm10 and Casablanca-like levels", () => {
    const quiet: number[] = [];
    let max = 0;
    const episodes = w.air.episodes(T0, T0 + 60 * DAY_MS);
    sample(60, 10 * MIN, (t) => {
      const p = w.pm(t);
      expect(p.pm1).to.be.at.most(p.pm25);
      expect(p.pm25).to.be.at.most(p.pm10);
      expect(p.pm1).to.be.greaterThan(0);
      max = Math.max(max, p.pm25);
      if (!episodes.some((e) => t >= e.startMs && t < e.endMs)) quiet.push(p.pm25);
    });
    quiet.sort((x, y) => x - y);
    const q = (f: number) => quiet[Math.floor(f * (quiet.length - 1))];
    // typical street levels: 10-40 ug/m3 most of the time
    expect(q(0.1)).to.be.within(4, 15);
    expect(q(0.9)).to.be.within(20, 45);
    expect(q(1)).to.be.below(70);
    // episodes reach 80-150
    expect(episodes.length).to.be.greaterThan(5);
    expect(max).to.be.within(80, 180);
  });

  it("has morning and evening traffic peaks", () => {
    const at = (hLocal: number) => {
      const xs: number[] = [];
      for (let d = 0; d < 30; d++) xs.push(w.pm(T0 + d * DAY_MS + (hLocal - 1) * HOUR_MS).pm25);
      xs.sort((a, b) => a - b);
      return xs[15]; // median: episodes do not move it
    };
    expect(at(8.5)).to.be.greaterThan(at(3) * 1.4);
    expect(at(19.5)).to.be.greaterThan(at(3) * 1.4);
    expect(at(8.5)).to.be.greaterThan(at(12.5));
  });

  it("makes dust episodes coarse and humid ones fine", () => {
    const eps = w.air.episodes(T0, T0 + 120 * DAY_MS);
    const dust = eps.find((e) => e.kind === "dust" && e.peakUgM3 > 60);
    const humid = eps.find((e) => e.kind === "humid" && e.peakUgM3 > 60);
    expect(dust, "a dust episode in 120 days").to.not.equal(undefined);
    expect(humid, "a humid episode in 120 days").to.not.equal(undefined);
    const mid = (e: { startMs: number; endMs: number }) => w.pm((e.startMs + e.endMs) / 2);
    const d = mid(dust!);
    const h = mid(humid!);
    expect(d.pm25 / d.pm10).to.be.below(0.45);
    expect(h.pm25 / h.pm10).to.be.above(0.6);
  });
});

describe("noise", () => {
  it("has the configured day / evening / night background levels", () => {
    const w = createWorld(5, { noise: { dayDb: 65, eveningDb: 60, nightDb: 50, eventsPerHour: { day: 0, evening: 0, night: 0 } } });
    const by: { [p: string]: number[] } = { day: [], evening: [], night: [] };
    sample(7, 1000 + 7, (t) => by[noisePeriod(localHour(t, 1))].push(w.noiseDb(t)));
    expect(mean(by.day)).to.be.closeTo(65, 0.7);
    expect(mean(by.evening)).to.be.closeTo(60, 0.7);
    expect(mean(by.night)).to.be.closeTo(50, 0.7);
  });

  it("adds events 15-25 dB above the background, and they raise the energy mean", () => {
    const quiet = createWorld(5, { noise: { eventsPerHour: { day: 0, evening: 0, night: 0 } } });
    const busy = createWorld(5, { noise: { eventsPerHour: { day: 60, evening: 40, night: 10 } } });
    const events = busy.noise.events(T0, T0 + DAY_MS);
    expect(events.length).to.be.within(700, 1100); // 12*60 + 4*40 + 8*10 = 960 expected
    for (const e of events.slice(0, 50)) {
      const t = e.kind === "horn" ? e.startMs + FAST_SLOT_MS : (e.startMs + e.endMs) / 2;
      expect(busy.noiseDb(t) - quiet.noise.baseDb(t)).to.be.greaterThan(9);
    }
    const leq = (w: ReturnType<typeof createWorld>) => {
      let e = 0;
      let n = 0;
      sample(1, 997, (t) => { e += Math.pow(10, w.noiseDb(t) / 10); n++; });
      return 10 * Math.log10(e / n);
    };
    expect(leq(busy) - leq(quiet)).to.be.greaterThan(2);
  });

  it("is constant within a 125 ms slot and flickers between slots", () => {
    const w = createWorld(8);
    const t = T0 + 10 * HOUR_MS;
    expect(w.noiseDb(t + 1)).to.equal(w.noiseDb(t + FAST_SLOT_MS - 1));
    const slots = Array.from({ length: 40 }, (_, i) => w.noiseDb(t + i * FAST_SLOT_MS));
    expect(new Set(slots.map((x) => x.toFixed(3))).size).to.be.greaterThan(30);
    for (const x of slots) expect(x).to.be.within(30, 130);
  });

  it("gives an instant the same level whatever was asked before (its caches are invisible)", () => {
    // the twins ask slot after slot; a replay or a second node may jump back and forth
    const busy = { eventsPerHour: { day: 60, evening: 40, night: 20 } };
    const walked = createWorld(11, { noise: busy });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 * DAY_MS }), { minLength: 1, maxLength: 40 }), (offsets) => {
        for (const dt of offsets) expect(walked.noiseDb(T0 + dt)).to.equal(createWorld(11, { noise: busy }).noiseDb(T0 + dt));
      }),
      { numRuns: 60 },
    );
  });
});

describe("bins", () => {
  it("empty at each daily collection and fill in between", () => {
    const w = createWorld(11, { bin: { collectEveryDays: 1, collectHour: 6, missedCollectionChance: 0 } });
    const cols = w.bin.collections(T0, T0 + 10 * DAY_MS);
    expect(cols.length).to.equal(10);
    for (const c of cols) {
      expect(localHour(c, 1)).to.be.within(6, 6.75);
      expect(w.binDistanceMm(c + 1000)).to.be.above(1100 - 20);
      expect(w.binDistanceMm(c - 1000)).to.be.below(1100 - 200);
    }
    for (let i = 1; i < cols.length; i++) expect(cols[i] - cols[i - 1]).to.be.closeTo(DAY_MS, 45 * MIN);
    // monotone filling between collections (up to surface roughness)
    let last = Infinity;
    for (let t = cols[2] + MIN; t < cols[3]; t += 30 * MIN) {
      const d = w.binDistanceMm(t);
      expect(d).to.be.at.most(last + 15);
      last = d;
    }
  });

  it("follow an every-2-days schedule and overflow when a round is missed", () => {
    const w = createWorld(12, { bin: { collectEveryDays: 2, missedCollectionChance: 0 } });
    const cols = w.bin.collections(T0, T0 + 10 * DAY_MS);
    expect(cols.length).to.be.within(4, 5);
    for (let i = 1; i < cols.length; i++) expect(cols[i] - cols[i - 1]).to.be.closeTo(2 * DAY_MS, 45 * MIN);
    const never = createWorld(12, { bin: { missedCollectionChance: 1, fillPerDay: 0.6, overflowMm: 120 } });
    expect(never.bin.collections(T0, T0 + 10 * DAY_MS)).to.deep.equal([]);
    expect(never.binDistanceMm(T0 + 5 * DAY_MS)).to.be.within(120, 130);
    sample(5, 17 * MIN, (t) => expect(w.binDistanceMm(t)).to.be.within(120, 1100));
  });
});

describe("daylight, temperature and lamp", () => {
  it("matches the sun's known behaviour at Casablanca", () => {
    const june = sunTimes(Date.UTC(2026, 5, 21));
    const dec = sunTimes(Date.UTC(2026, 11, 21));
    // day length at 33.6 N: ~14 h 24 min at the June solstice, ~9 h 55 min in December
    expect((june.sunset! - june.sunrise!) / MIN).to.be.closeTo(14 * 60 + 24, 6);
    expect((dec.sunset! - dec.sunrise!) / MIN).to.be.closeTo(9 * 60 + 55, 6);
    // at sunrise the centre of the sun is 0.833 deg below the horizon
    expect(solarElevationDeg(june.sunrise!, 33.59, -7.6)).to.be.closeTo(-0.833, 0.05);
    // solar noon ~12:30 UTC (7.6 deg west), elevation 90 - lat + declination
    const noon = (june.sunrise! + june.sunset!) / 2;
    expect(new Date(noon).getUTCHours()).to.equal(12);
    expect(solarElevationDeg(noon, 33.59, -7.6)).to.be.closeTo(90 - 33.59 + 23.44, 0.3);
    expect(june.civilDusk! - june.sunset!).to.be.within(25 * MIN, 35 * MIN);
  });

  it("gives dark nights, bright days and a daily temperature cycle", () => {
    const w = createWorld(3);
    const s = w.daylight.sunTimes(T0);
    expect(w.daylightLux(s.sunrise! - 2 * HOUR_MS)).to.be.below(1);
    expect(w.daylightLux((s.sunrise! + s.sunset!) / 2)).to.be.above(10_000);
    expect(w.daylightLux(s.sunset!)).to.be.within(50, 1000);
    const temps = Array.from({ length: 24 }, (_, h) => w.temperatureC(T0 + h * HOUR_MS));
    const min = temps.indexOf(Math.min(...temps));
    const max = temps.indexOf(Math.max(...temps));
    expect(min).to.be.within(4, 8); // 05-09 local
    expect(max).to.be.within(12, 16); // 13-17 local
    for (const t of temps) expect(t).to.be.within(2, 25); // January
  });

  it("lamp draws ~0.45 A except during a configured failure", () => {
    const start = T0 + 20 * HOUR_MS;
    const w = createWorld(4, { lamp: { failures: [{ startMs: start, durationMs: 3 * HOUR_MS }] } });
    expect(w.lampCurrentA(start - 1)).to.be.within(0.43, 0.47);
    expect(w.lampCurrentA(start + HOUR_MS)).to.equal(0);
    expect(w.lampCurrentA(start + 3 * HOUR_MS)).to.be.within(0.43, 0.47);
    const rare = createWorld(4, { lamp: { failureRatePerDay: 0.2 } });
    let dead = 0;
    sample(100, HOUR_MS, (t) => { if (rare.lampCurrentA(t) === 0) dead++; });
    expect(dead).to.be.within(20, 600); // ~20 failures of 2-24 h
    const healthy = createWorld(4);
    sample(30, HOUR_MS, (t) => expect(healthy.lampCurrentA(t)).to.be.above(0.4));
  });
});
