// Contexts reused across boots (sim/espruino/realm.ts): a wake may take the context an
// earlier boot of the same image left, and must not be able to tell, except for the names the
// image's top level declares, which exist (undefined) before it declares them again.

import { expect } from "chai";
import { bootNode } from "../../support/node-fixture.js";
import { BOOT_MS } from "../../../sim/node.js";
import { acquireRealm, realmStats, releaseRealm } from "../../../sim/espruino/realm.js";

const lines = (text: string, prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix));
/** one turn of the host's event loop: an ended boot's context is pooled in it */
const turn = () => new Promise<void>((r) => setImmediate(r));
const SLEEP_S = 10;

/** run the node's first boot and `wakes` wakes, letting the host's loop turn between them */
async function wakes(code: string, n: number, between = turn) {
  const h = bootNode(code);
  h.node.start();
  for (let i = 0; i < n; i++) {
    await between();
    h.clock.advance(SLEEP_S * 1000 + 500);
  }
  return h;
}

describe("a context reused by the next boot of the same image", () => {
  it("is reused, and its globals, its Date and its random numbers are the new boot's", async () => {
    const before = { ...realmStats };
    const h = await wakes(
      `var seen = [typeof kept, typeof global.assigned, typeof E.extra, typeof declared, typeof onInit].join();
      print("seen " + seen + " at " + Date.now() + " random " + Math.random());
      var kept = 1;
      global.assigned = 2;
      E.extra = 3;
      function declared() {}
      ESP32.deepSleep(${SLEEP_S}e6);`,
      4,
    );
    expect(realmStats.reused - before.reused).to.be.at.least(3);
    const seen = lines(h.out(), "seen ");
    expect(seen).to.have.length(5);
    // a var not yet assigned, a global and an API object's property of the last boot: all gone
    for (const l of seen) expect(l).to.match(/^seen undefined,undefined,undefined,function,undefined at \d+ random /);
    const times = seen.map((l) => Number(/ at (\d+)/.exec(l)![1]));
    // the realm's Date reads this boot's clock, not the boot's that made the context
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).to.be.within(SLEEP_S * 1000, SLEEP_S * 1000 + 2000);
    expect(new Set(seen.map((l) => l.split(" random ")[1])).size).to.equal(5);
  });

  it("counts the image's globals in the memory estimate as a new context does", async () => {
    const before = { ...realmStats };
    const h = await wakes(
      `var table = [1, 2, 3, 4, 5, 6, 7, 8];
      var name = "a string of some length";
      function helper() { return table.length; }
      print("usage " + process.memory().usage);
      ESP32.deepSleep(${SLEEP_S}e6);`,
      3,
    );
    expect(realmStats.reused - before.reused).to.be.at.least(2);
    const usage = lines(h.out(), "usage ");
    expect(usage).to.have.length(4);
    expect(new Set(usage).size, usage.join(" | ")).to.equal(1);
  });

  it("is not reused once a boot changed a built-in: the next boot sees the built-in as made", async () => {
    const before = { ...realmStats };
    const h = await wakes(
      `print("extra " + typeof Array.prototype.extra + " " + typeof JSON.extra + " " + typeof Date.prototype.extra);
      Array.prototype.extra = function () {};
      ESP32.deepSleep(${SLEEP_S}e6);`,
      3,
    );
    expect(lines(h.out(), "extra ")).to.deep.equal(Array(4).fill("extra undefined undefined undefined"));
    expect(realmStats.reused - before.reused).to.equal(0);
    expect(realmStats.dropped - before.dropped).to.be.at.least(3);
  });

  it("is not reused after a console line (which may declare a top-level let)", async () => {
    const before = { ...realmStats };
    const h = bootNode(`print("up"); setTimeout(function () { ESP32.deepSleep(${SLEEP_S}e6); }, 1000);`);
    h.node.start();
    h.clock.advance(BOOT_MS + 100);
    h.node.consoleInput("let fromConsole = 1\n");
    h.node.consoleInput("print(typeof fromConsole)\n");
    h.clock.advance(1500);
    await turn();
    h.clock.advance(SLEEP_S * 1000 + BOOT_MS + 100); // awake again, the same image
    h.node.consoleInput("let fromConsole = 2\n");
    h.node.consoleInput("print(typeof fromConsole)\n");
    expect(lines(h.out(), "number")).to.have.length(2);
    expect(h.out()).to.not.match(/has already been declared/);
    expect(realmStats.dropped - before.dropped).to.be.at.least(1);
  });

  it("does not hand the next boot a rejection of the boot that ended", async () => {
    // the first boot rejects a promise nobody handles and sleeps at once: the host reports the
    // rejection in its next turn. The wake is awake by then; had it taken the first boot's
    // context, it would own that promise and print the rejection as its own.
    const h = bootNode(`var S = require("Storage");
      var n = (S.readJSON("n.json", true) || 0) + 1;
      S.writeJSON("n.json", n);
      print("boot " + n);
      if (n === 1) {
        Promise.reject(new Error("from an earlier boot"));
        ESP32.deepSleep(${SLEEP_S}e6);
      } else setTimeout(function () { ESP32.deepSleep(${SLEEP_S}e6); }, 5000);`);
    h.node.start();
    h.clock.advance(BOOT_MS + 100);
    h.clock.advance(SLEEP_S * 1000 + BOOT_MS + 100);
    await turn();
    await turn();
    h.clock.advance(10_000);
    expect(lines(h.out(), "boot ")).to.deep.equal(["boot 1", "boot 2"]);
    expect(h.out()).to.not.match(/Uncaught/);
  });

  it("holds at most 128 contexts, however many boots end before the host turns", async () => {
    const bridge = { now: () => 0, tz: () => 0 };
    const burst = () => Array.from({ length: 200 }, (_, i) => acquireRealm("burst-" + i, bridge, () => {}, "a burst's image"));
    const first = { ...realmStats };
    for (const lease of burst()) releaseRealm(lease);
    await turn();
    // the others were dropped as they ended, not held (each with its dead boot's heap) and scrubbed for nothing
    expect(realmStats.scrubbed - first.scrubbed).to.equal(128);
    const before = { ...realmStats };
    const again = burst();
    expect(realmStats.reused - before.reused).to.equal(128);
    expect(realmStats.made - before.made).to.equal(72);
    for (const lease of again) releaseRealm(lease);
    await turn();
  });
});
