// Downlink commands on a fake chip (the runtime's handleCommand through the real MQTT client):
// validity against the node's clock, and what a node without a clock does (issue 10).
import { expect } from "chai";
import { Chip, tearDown, FakeRelay, board, KEY, MINUTE } from "../../support/fake-chip.js";
import { srv } from "../../support/fake-net.js";

const cfg = { site: "t", node: "n1", keyHex: KEY, samplePeriodS: 60, uploadPeriodS: 300 };

describe("commands on the node: validity", () => {
  let chip: Chip | undefined;
  afterEach(() => {
    tearDown(chip);
    chip = undefined;
  });
  const acks = () => chip!.topic("ack").map((m) => JSON.parse(m.payload));

  it("with a set clock: a stale command is refused as expired; a late relay override ends at ts + expiresS", async () => {
    const relay = new FakeRelay("lamp");
    chip = new Chip({ board: board("m", "mains", ["lamp"]), config: cfg, actuators: () => [relay] });
    chip.start();
    await chip.run(MINUTE);
    const now = Math.floor(Date.now() / 1000);
    chip.command("diag", {}, { id: "stale", valid: { ts: now - 7200, ttl: 3600 } });
    // sent 5 minutes ago for 10 minutes: 5 minutes are left
    chip.command("relay", { state: "on", expiresS: 600 }, { id: "late", valid: { ts: now - 300 } });
    const sent = Date.now();
    await chip.run(MINUTE);
    expect(acks()).to.deep.equal([
      { id: "stale", ok: false, error: "expired", detail: "issued 7200 s ago, valid 3600 s" },
      { id: "late", ok: true },
    ]);
    expect(relay.state).to.equal(true);
    await chip.run(10 * MINUTE);
    const [at] = chip.logs.filter((l) => /relay override expired/.test(l[1])).map((l) => l[0]);
    // checked once a sample period (60 s)
    expect(at - sent).to.be.within(300_000, 360_000);
  });

  it("without a clock: acts on the counter alone and says so in the ack", async () => {
    chip = new Chip({ board: board("m", "mains", ["lamp"]), config: cfg, actuators: () => [new FakeRelay("lamp")], startMs: 10_000 });
    chip.start();
    await chip.run(MINUTE);
    expect(Date.now()).to.be.below(1704067200000);
    // issued long ago by the back office's clock: this node cannot tell
    chip.command("diag", {}, { id: "old", ctr: 5, valid: { ts: 1768435200 - 86400, ttl: 60 } });
    chip.command("diag", {}, { id: "again", ctr: 5 });
    await chip.run(MINUTE);
    expect(acks()).to.deep.equal([
      { id: "old", ok: true, detail: "clock not set: validity not checked" },
      { id: "again", ok: false, error: "replay", detail: "ctr 5 <= 5" },
    ]);
  });

  it("a cmd message over the 1 KB packet limit: acked to the broker, refused as too-large (id unknown), counted; the link stays", async () => {
    chip = new Chip({ board: board("m", "mains", ["lamp"]), config: cfg, actuators: () => [new FakeRelay("lamp")] });
    chip.start();
    await chip.run(MINUTE);
    const sock = chip.net.sockets.filter((s) => !s.closed).at(-1)!;
    const body = "[" + "1,".repeat(3000) + "1]";
    sock.feed(srv.publish("casanode/t/n1/cmd", body, 1, 4321));
    chip.command("diag", {}, { id: "after" });
    await chip.run(MINUTE);
    expect(sock.packets().filter((p) => p.type === 4).map((p) => p.id)).to.include(4321);
    expect(acks()).to.deep.equal([
      { id: "", ok: false, error: "too-large", detail: `${body.length} > 512 bytes, dropped unread: id unknown` },
      { id: "after", ok: true },
    ]);
    expect(chip.console!.diag().counters).to.include({ cmdTooLarge: 1, cmdErrors: 1 });
    expect(sock.closed).to.equal(false);
  });
});
