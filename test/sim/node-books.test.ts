// The fleet's sampled books: kept while the flash does not change, and never stale after any
// way the flash can change (the store's own writes, files, erase, eraseAll, compaction,
// a write torn by a power cut).

import { expect } from "chai";
import fc from "fast-check";
import sinon from "sinon";
import { SimStorage } from "../../sim/espruino/storage.js";
import { Store } from "../../firmware/runtime/store.js";
import { readNodeStats } from "../../firmware/runtime/stats.js";
import { nodeStatsOf } from "../../sim/node-books.js";
import type { Entry } from "../../firmware/runtime/state.js";

const entries = (n: number, from: number): Entry[] => Array.from({ length: n }, (_, i) => ["v" + (from + i), "u", from + i, 1768464000]);

describe("node books as the fleet samples them", () => {
  it("reads the flash once while it does not change", () => {
    const storage = new SimStorage();
    const s = new Store(storage);
    s.load(true);
    s.enqueue(entries(3, 0), 100);
    s.save();
    const read = sinon.spy(storage, "read");
    const first = nodeStatsOf(storage);
    const reads = read.callCount;
    expect(reads).to.be.greaterThan(0);
    expect(nodeStatsOf(storage)).to.equal(first);
    expect(read.callCount).to.equal(reads);
    expect(first).to.deep.equal(readNodeStats(storage));
  });

  it("is readNodeStats after any sequence of flash changes", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("enqueue" as const), n: fc.integer({ min: 1, max: 5 }), max: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ k: fc.constant("ack" as const) }),
      fc.record({ k: fc.constant("write" as const), name: fc.constantFrom("a", "b", "casanode.json"), text: fc.string({ minLength: 1, maxLength: 40 }) }),
      fc.record({ k: fc.constant("erase" as const), name: fc.constantFrom("a", "b", "casanode.json", "cn.state") }),
      fc.record({ k: fc.constant("append" as const), text: fc.string({ minLength: 1, maxLength: 60 }) }),
      fc.record({ k: fc.constant("compact" as const) }),
      fc.record({ k: fc.constant("eraseAll" as const) }),
      fc.record({ k: fc.constant("torn" as const), n: fc.integer({ min: 1, max: 3 }), seed: fc.double({ min: 0, max: 0.999, noNaN: true }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const storage = new SimStorage({ sizeBytes: 32 * 1024 });
        let next = 0;
        const store = () => {
          const s = new Store(storage);
          s.load(true);
          return s;
        };
        for (const o of ops) {
          try {
            if (o.k === "enqueue") {
              const s = store();
              s.enqueue(entries(o.n, next), o.max);
              next += o.n;
              s.save();
            } else if (o.k === "ack") {
              const s = store();
              if (s.state.q.done + 1 < s.state.q.next) {
                s.state.q.done++;
                s.save();
              }
            } else if (o.k === "write") storage.write(o.name, o.text);
            else if (o.k === "erase") storage.erase(o.name);
            else if (o.k === "append") storage.open("log", "a").write(o.text);
            else if (o.k === "compact") storage.compact();
            else if (o.k === "eraseAll") storage.eraseAll();
            else {
              const s = store();
              storage.armTear(() => o.seed, () => {});
              s.enqueue(entries(o.n, next), 100);
              s.save();
            }
          } catch {
            // a full flash or a torn write: the books must still be read right
          }
          storage.disarmTear();
          expect(nodeStatsOf(storage)).to.deep.equal(readNodeStats(storage));
        }
      }),
      { numRuns: 150 },
    );
  });
});
