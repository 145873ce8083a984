// The persistent store on the simulated flash (sim/espruino/storage.ts, a port of Espruino's
// Storage), with power cuts landing inside flash writes (armTear: the write stops part-way,
// as NOR flash keeps what was programmed before the cut).
import { expect } from "chai";
import fc from "fast-check";
import { SimStorage, PowerLostError } from "../../../sim/espruino/storage.js";
import sinon from "sinon";
import { Store, checksum, adler32, seal, unseal, useNativeCrc } from "../../../firmware/runtime/store.js";
import { flashLifeYears } from "../../../firmware/runtime/diag-figures.js";
import { crc32 } from "../../../sim/espruino/crc32.js";
import type { Entry } from "../../../firmware/runtime/state.js";
import { readNodeStats } from "../../../firmware/runtime/stats.js";

const entries = (ids: number[]): Entry[] => ids.map((id) => ["v" + id, "u", id, 1768464000]);
const ids = (es: Entry[]) => es.map((e) => e[2]);

function queuedIds(storage: SimStorage): number[] {
  const s = new Store(storage);
  s.load();
  const out: number[] = [];
  for (let k = s.state.q.done + 1; k < s.state.q.next; k++) {
    const f = unseal(storage.read(s.qName(k)));
    if (f) out.push(...ids(f.e));
  }
  return out;
}

describe("store", () => {
  it("seals with CRC-32 (IEEE, as E.CRC32), and with Espruino's native E.CRC32 where there is one: a loop per char costs ~19 us a char on the host's Espruino, ~0.6 ms on the chip", () => {
    expect(checksum("123456789")).to.equal(0xcbf43926);
    expect(checksum("")).to.equal(0);
    fc.assert(fc.property(fc.string({ unit: "binary-ascii", maxLength: 6000 }), (x) => {
      expect(checksum(x)).to.equal(crc32(x));
    }));
    const spy = sinon.spy(crc32);
    useNativeCrc(spy);
    try {
      const s = seal({ a: 1 });
      expect(spy.calledOnceWith('{"a":1}')).to.equal(true);
      expect(unseal(s)).to.deep.equal({ a: 1 });
    } finally {
      useNativeCrc();
    }
  });

  it("still opens what an older firmware sealed with Adler-32 (RFC 1950), so an update loses no state or queue", () => {
    expect(adler32("Wikipedia")).to.equal(0x11e60398);
    fc.assert(fc.property(fc.string({ unit: "binary-ascii", maxLength: 2000 }), (x) => {
      expect(adler32(x)).to.equal(adlerRef(x));
    }));
    const old = (obj: unknown) => {
      const j = JSON.stringify(obj);
      return adlerRef(j).toString(16).padStart(8, "0") + j;
    };
    expect(unseal(old({ x: [1, 2] }))).to.deep.equal({ x: [1, 2] });
    expect(unseal(old({ x: [1, 2] }).slice(0, -1))).to.equal(undefined);
    // a node's flash as the older firmware left it: its state and queue load, and the next save is CRC-sealed
    const storage = new SimStorage(), s = new Store(storage);
    s.load(true);
    s.enqueue(entries([1, 2, 3]), 100);
    s.save();
    for (const name of storage.list()) storage.write(name, old(unseal(storage.read(name)!)));
    expect(queuedIds(storage)).to.deep.equal([1, 2, 3]);
    const again = new Store(storage);
    again.load(false);
    again.save();
    const slot = "cn.s" + (again.state.sq % 2), text = storage.read(slot)!;
    expect(text.slice(0, 8)).to.equal(crc32(text.slice(8)).toString(16).padStart(8, "0"));
  });

  it("seal/unseal round-trips and refuses any truncation or 0xFF tail", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (v, cut) => {
        const s = seal({ x: v });
        expect(unseal(s)).to.deep.equal(JSON.parse(JSON.stringify({ x: v })));
        const n = cut % s.length;
        expect(unseal(s.slice(0, n))).to.equal(undefined);
        expect(unseal(s.slice(0, n) + "\xff".repeat(s.length - n))).to.equal(undefined);
      }),
    );
  });

  it("alternates two state slots, and a torn slot write falls back to the previous state", () => {
    const storage = new SimStorage();
    const a = new Store(storage);
    a.load(true);
    a.state.c.cycles = 1;
    expect(a.save()).to.equal(true);
    a.state.c.cycles = 2;
    expect(a.save()).to.equal(true);
    expect(storage.read("cn.s1")).to.be.a("string");
    expect(storage.read("cn.s0")).to.be.a("string");
    let died = false;
    storage.armTear(() => 0.7, () => (died = true));
    a.state.c.cycles = 3;
    expect(a.save()).to.equal(false);
    expect(died).to.equal(true);
    expect(a.failed).to.match(/power lost/);
    const b = new Store(storage);
    b.load();
    expect(b.state.c.cycles).to.equal(2);
  });

  it("queues, peeks oldest first, acks on PUBACK and erases only after the state says so", () => {
    const storage = new SimStorage();
    const s = new Store(storage);
    s.load(true);
    s.enqueue(entries([1, 2]), 100);
    s.enqueue(entries([3]), 100);
    s.save();
    const b = s.peek(10_000)!;
    expect(ids(b.entries)).to.deep.equal([1, 2, 3]);
    expect(s.ack(b)).to.equal(3);
    expect(storage.read("cn.q1")).to.be.a("string"); // not before the state write
    s.save();
    expect(storage.read("cn.q1")).to.equal(undefined);
    expect(s.queued()).to.equal(0);
    expect(s.peek(1000)).to.equal(null);
  });

  it("drops the oldest when full and counts them", () => {
    const storage = new SimStorage();
    const s = new Store(storage);
    s.load(true);
    for (let i = 0; i < 10; i++) s.enqueue(entries([3 * i, 3 * i + 1, 3 * i + 2]), 12);
    s.save();
    expect(s.state.c.dropped).to.equal(18);
    expect(s.queued()).to.equal(12);
    expect(queuedIds(storage)).to.deep.equal([18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    const st = readNodeStats(storage);
    expect(st).to.include({ readings: 30, dropped: 18, queued: 12, lost: 0 });
  });

  it("adopts a queue file written just before a cut, and erases a torn one", () => {
    const storage = new SimStorage();
    const s = new Store(storage);
    s.load(true);
    s.enqueue(entries([1]), 100);
    s.save();
    s.enqueue(entries([2]), 100); // committed, but the state never said so
    storage.armTear(() => 0.5, () => {});
    s.enqueue(entries([3]), 100); // torn
    const r = new Store(storage);
    r.load();
    expect(r.state.c.readings).to.equal(2);
    expect(r.notes.join()).to.match(/torn cn\.q3/);
    expect(storage.read("cn.q3")).to.equal(undefined);
    expect(queuedIds(storage)).to.deep.equal([1, 2]);
  });

  it("a store on the same flash with no state left adopts the queue files it finds", () => {
    const storage = new SimStorage();
    const s = new Store(storage);
    s.load(true);
    s.enqueue(entries([1, 2]), 100);
    s.enqueue(entries([3]), 100);
    s.save();
    storage.erase("cn.s0");
    storage.erase("cn.s1");
    const r = new Store(storage);
    r.load(true);
    expect(r.state.c.readings).to.equal(3);
    expect(ids(r.peek(1000)!.entries)).to.deep.equal([1, 2, 3]);
  });

  // The property the whole design is for: cut the power inside any flash write, boot again,
  // and the counters stay exact (readings = acked + queued + dropped), no committed value is
  // lost, and the state always loads.
  it("survives power cuts at random points of random work: exact counters, nothing committed lost", () => {
    const r = cutsProperty(64 * 1024, fc.integer({ min: 10, max: 40 }));
    // the runs did cut writes, reboot and drop
    expect(r.tears).to.be.greaterThan(100);
    expect(r.reboots).to.be.greaterThan(300);
    expect(r.drops).to.be.greaterThan(0);
  });

  // The same where the flash, not queueMax, bounds the queue: every batch is stored (the
  // oldest dropped and counted to make room), the books stay exact through cuts.
  it("survives power cuts on a full flash too: the oldest batches make room, counted, nothing sticks", () => {
    const r = cutsProperty(6 * 1024, fc.constant(1_000_000), 200, 10, "max");
    expect(r.tears).to.be.greaterThan(100);
    expect(r.drops).to.be.greaterThan(1000); // the flash bound bit, often
  });

  it("a full flash drops the oldest batches for a new one, counted, and keeps room for the state", () => {
    const storage = new SimStorage({ sizeBytes: 24 * 1024 });
    const s = new Store(storage);
    s.load(true);
    for (let i = 0; i < 400; i++) {
      expect(s.enqueue(entries([3 * i, 3 * i + 1, 3 * i + 2]), 1_000_000), "enqueue " + i).to.equal(true);
      expect(s.save(), "save " + i).to.equal(true);
    }
    const st = readNodeStats(storage);
    expect(st).to.include({ readings: 1200, lost: 0 });
    expect(st.dropped).to.be.greaterThan(0);
    const q = queuedIds(storage);
    expect(q).to.deep.equal(Array.from({ length: q.length }, (_, i) => 1200 - q.length + i)); // the newest, in order
    expect(st.dropped).to.equal(1200 - q.length);
    expect(s.failed).to.equal("");
    // room was kept for the state: it may grow, and both slots still take it
    s.state.dev.pm = { ok: 1, bad: 1, last: "timeout: " + "x".repeat(200) };
    expect(s.save()).to.equal(true);
    expect(s.save()).to.equal(true);
    expect(unseal(storage.read("cn.s0")).dev.pm.last).to.have.length(209);
    expect(unseal(storage.read("cn.s1")).dev.pm.last).to.have.length(209);
  });

  it("a flash filled by something else refuses a batch (counted), and once freed takes the next: nothing sticks", () => {
    const storage = new SimStorage({ sizeBytes: 8 * 1024 });
    const s = new Store(storage);
    s.load(true);
    expect(s.save()).to.equal(true);
    expect(s.save()).to.equal(true); // both slots: each later save replaces one
    storage.write("other.log", "x".repeat(storage.getFree() - 32 - 64)); // 64 bytes left: less than a batch
    expect(s.enqueue(entries([1]), 100)).to.equal(false); // nothing queued to let go
    expect(s.failed).to.match(/^flash full/);
    expect(s.save(), "the state still fits").to.equal(true);
    expect(readNodeStats(storage)).to.include({ readings: 1, dropped: 1, queued: 0, lost: 0 });
    storage.erase("other.log");
    expect(s.enqueue(entries([2]), 100)).to.equal(true);
    expect(s.save()).to.equal(true);
    expect(s.failed).to.equal("");
    expect(readNodeStats(storage)).to.include({ readings: 2, dropped: 1, queued: 1, lost: 0 });
    expect(queuedIds(storage)).to.deep.equal([2]);
  });

  it("acks on a flash that filled up are durable: after a reboot nothing acked is sent again", () => {
    const storage = new SimStorage({ sizeBytes: 24 * 1024 });
    const s = new Store(storage);
    s.load(true);
    for (let i = 0; i < 600; i++) s.enqueue(entries([i]), 1_000_000), s.save();
    let acked = 0;
    for (let b = s.peek(2000); b; b = s.peek(2000)) {
      acked += s.ack(b);
      expect(s.save()).to.equal(true);
    }
    expect(acked).to.be.greaterThan(0);
    const r = new Store(storage); // a power cut, then boot
    r.load(true);
    expect(r.peek(2000)).to.equal(null);
    expect(readNodeStats(storage)).to.include({ readings: 600, acked, queued: 0, dropped: 600 - acked, lost: 0 });
  });

  it("a flash an older firmware filled to the last byte still takes the state: the oldest files go first", () => {
    const storage = new SimStorage({ sizeBytes: 16 * 1024 });
    const old = new Store(storage);
    old.load(true);
    old.save();
    // what the old store did: queue files until the flash refused (no room kept)
    let k = 1;
    try {
      for (;; k++) storage.write(old.qName(k), seal({ e: entries([k]) }));
    } catch (e) {
      expect(String(e)).to.match(/Unable to find or create file/);
    }
    const s = new Store(storage);
    s.load(true);
    expect(s.queued()).to.equal(k - 1); // adopted
    expect(s.save(), "state saved on a full flash").to.equal(true);
    expect(s.enqueue(entries([k]), 1_000_000)).to.equal(true);
    expect(s.save()).to.equal(true);
    const st = readNodeStats(storage);
    expect(st).to.include({ readings: k, lost: 0 });
    expect(st.dropped).to.be.greaterThan(0);
    const q = queuedIds(storage);
    expect(q[q.length - 1]).to.equal(k);
  });

  it("flash life: endurance x reclaimable area / bytes a day", () => {
    const r = flashLifeYears(300 * 1024, 896 * 1024, 100_000);
    // 100000 cycles * 896 KB / 300 KB a day = 298667 days = 817.7 years
    expect(r.erasesPerSectorPerDay).to.be.closeTo(300 / 896, 1e-12);
    expect(r.years).to.be.closeTo((100_000 * 896) / 300 / 365.25, 1e-9);
    // live files are copied back at each compaction: only size - live is reclaimed
    const l = flashLifeYears(300 * 1024, 896 * 1024, 100_000, 10 * 1024);
    expect(l.erasesPerSectorPerDay).to.be.closeTo(300 / 886, 1e-12);
    expect(l.years).to.be.closeTo((100_000 * 886) / 300 / 365.25, 1e-9);
    expect(flashLifeYears(0).years).to.equal(Infinity);
  });
});

function adlerRef(s: string): number {
  let a = 1, b = 0;
  for (const ch of Buffer.from(s, "latin1")) {
    a = (a + ch) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

describe("store: readings stamped before the clock was set", () => {
  const run = (t: number, id: number): Entry => ["v" + id, "u", id, t];

  it("hold the live run's files back, re-stamp them with the run's offset, count a run that never learnt the time as untimed", () => {
    const storage = new SimStorage();
    const s = new Store(storage);
    s.load(true);
    s.enqueue(entries([1]), 100); // real time, before any run
    s.newRun(); // power-on, RTC at 0
    s.enqueue([run(60, 2), run(120, 3)], 100);
    // the live run's files wait for the clock; what comes before goes
    let b = s.peek(10_000)!;
    expect(ids(b.entries)).to.deep.equal([1]);
    s.ack(b);
    expect(s.peek(10_000)).to.equal(null);
    s.save();
    // a power cut: the next run starts, the first one never learnt the time
    s.newRun();
    s.enqueue([run(30, 4)], 100);
    s.runSynced(1768464000_000 - 30_000);
    // and after the sync, real times in the same run
    s.enqueue(entries([5]), 100);
    b = s.peek(10_000)!;
    expect(b.entries).to.deep.equal([["v4", "u", 4, 1768464000], ["v5", "u", 5, 1768464000]]);
    expect(b.files.map((f) => f.slice(1))).to.deep.equal([[0, 2], [1, 0], [1, 0]]);
    s.ack(b);
    s.save();
    const st = readNodeStats(storage);
    expect(st).to.include({ readings: 5, acked: 3, untimed: 2, queued: 0, lost: 0 });
    // the books survive a reload, and the run that learnt its time keeps its offset for stragglers
    const again = new Store(storage);
    again.load();
    expect(again.runOffset()).to.equal(1768464000_000 - 30_000);
    expect(again.queued()).to.equal(0);
  });

  it("a run that wrote nothing leaves no range behind", () => {
    const s = new Store(new SimStorage());
    s.load(true);
    s.newRun();
    s.newRun();
    s.newRun();
    expect(s.state.runs).to.deep.equal([[1, 0]]);
    expect(s.runLive()).to.equal(true);
    s.endRun();
    expect(s.runLive()).to.equal(false);
  });
});

/**
 * Random work (enqueue, save, flush, reboot) with power cuts inside random writes, on a
 * Storage of `sizeBytes`; after every boot the books must balance exactly.
 */
function cutsProperty(sizeBytes: number, maxArb: fc.Arbitrary<number>, maxOps = 80, cutOneIn = 2, size: fc.SizeForArbitrary = undefined): { tears: number; reboots: number; drops: number } {
  // a cut in one op out of cutOneIn
  const cut = fc.integer({ min: 1, max: cutOneIn }).map((x) => x === 1);
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.record({ k: fc.constant("enqueue"), n: fc.integer({ min: 1, max: 5 }), cut }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant("save"), n: fc.constant(0), cut }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("flush"), n: fc.integer({ min: 20, max: 200 }), cut }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("reboot"), n: fc.constant(0), cut: fc.constant(false) }) },
  );
  let tears = 0, reboots = 0, drops = 0;
  fc.assert(
    fc.property(fc.array(op, { minLength: 20, maxLength: maxOps, size }), maxArb, fc.double({ min: 0, max: 0.999, noNaN: true }), (ops, max, where) => {
      const flash = new SimStorage({ sizeBytes });
      let dead = false, next = 0;
      // after a cut nothing runs: every later flash call of that boot fails
      const storage = new Proxy(flash, {
        get(t, p) {
          const v = (t as any)[p];
          if (typeof v !== "function") return v;
          return (...a: any[]) => {
            if (dead && p !== "armTear" && p !== "disarmTear") throw new PowerLostError();
            return v.apply(t, a);
          };
        },
      });
      let store = new Store(storage);
      store.load(true);
      const committed = new Set<number>();
      const received = new Set<number>();
      const check = () => {
        const st = readNodeStats(storage);
        const q = queuedIds(storage);
        expect(st.lost, "lost").to.equal(0);
        expect(st.readings, "readings").to.equal(committed.size);
        expect(st.queued).to.equal(q.length);
        for (const id of q) expect(committed.has(id), "phantom " + id).to.equal(true);
        let missing = 0;
        for (const id of committed) if (!received.has(id) && !q.includes(id)) missing++;
        // what is neither delivered nor queued was dropped (and counted), never lost
        expect(missing).to.be.at.most(st.dropped);
      };
      const reboot = () => {
        reboots++;
        dead = false;
        flash.disarmTear();
        store = new Store(storage);
        store.load(true);
        check();
      };
      const run = (o: { k: string; n: number }) => {
        if (o.k === "enqueue") {
          const batch: number[] = [];
          for (let i = 0; i < o.n; i++) batch.push(next++);
          if (store.enqueue(entries(batch), max) && !dead) for (const id of batch) committed.add(id);
          else if (!dead) throw new Error("enqueue failed without a cut");
        } else if (o.k === "save") store.save();
        else if (o.k === "flush") {
          const b = store.peek(o.n);
          if (b && !dead) {
            for (const id of ids(b.entries)) received.add(id);
            store.ack(b);
            store.save();
          }
        } else reboot();
      };
      for (const o of ops) {
        if (o.cut) flash.armTear(() => where, () => (dead = true));
        try {
          run(o);
        } catch (e) {
          if (!dead) throw e; // the chip stopped where the power went
        }
        flash.disarmTear();
        if (dead) reboot();
      }
      reboot();
      tears += flash.tornWrites;
      drops += readNodeStats(flash).dropped;
    }),
    { numRuns: 150 },
  );
  return { tears, reboots, drops };
}
