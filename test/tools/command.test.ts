import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import sinon from "sinon";
import { startBroker } from "../../sim/broker.js";
import { verifyCommand, ackMessage } from "../../firmware/messages/commands.js";
import { sendCommand, commandArgs, findKey, CommandError } from "../../tools/command.js";

const KEY = "5a".repeat(32);
const sha256 = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("binary");

/** A stand-in node: checks each command with the firmware's own verifier (on its own clock, `skewMs` off) and acks it. */
async function fakeNode(url: string, keyHex: string, skewMs = 0) {
  const c = mqtt.connect(url, { clientId: "node-pole-07" });
  let lastCtr = 0;
  const seen: string[] = [];
  c.on("message", (_t, msg) => {
    const r = verifyCommand(msg.toString("latin1"), "pole-07", keyHex, lastCtr, sha256, Date.now() + skewMs);
    if (r.ok) {
      lastCtr = r.cmd.ctr;
      seen.push(r.cmd.cmd + " " + JSON.stringify(r.cmd.args));
      c.publish("casanode/casa/pole-07/ack", ackMessage(r.cmd.id, true), { qos: 1 });
    } else c.publish("casanode/casa/pole-07/ack", ackMessage(r.id ?? "?", false, r.error, r.detail), { qos: 1 });
  });
  await c.subscribeAsync("casanode/casa/pole-07/cmd", { qos: 1 });
  return { seen, stop: () => c.endAsync() };
}

describe("casanode command", () => {
  it("signs a relay command the firmware's verifier accepts, and reads the ack", async () => {
    const broker = await startBroker({ port: 0 });
    const node = await fakeNode(broker.url, KEY);
    try {
      const { cmd, args } = commandArgs("relay", "on", 3600);
      const r = await sendCommand({ broker: broker.url, site: "casa", node: "pole-07", keyHex: KEY, cmd, args, ctr: 100, waitMs: 5000 });
      expect(r.ack).to.deep.include({ id: r.id, ok: true });
      expect(node.seen).to.deep.equal(['relay {"state":"on","expiresS":3600}']);
      // the same counter again is a replay, refused with its reason
      const again = await sendCommand({ broker: broker.url, site: "casa", node: "pole-07", keyHex: KEY, cmd, args, ctr: 100, waitMs: 5000 });
      expect(again.ack).to.deep.include({ ok: false, error: "replay" });
      // a wrong key is refused by the node
      const forged = await sendCommand({ broker: broker.url, site: "casa", node: "pole-07", keyHex: "00".repeat(32), cmd: "reboot", args: {}, ctr: 200, waitMs: 5000 });
      expect(forged.ack).to.deep.include({ ok: false, error: "bad-mac" });
      expect(node.seen).to.have.length(1);
    } finally {
      await node.stop();
      await broker.stop();
    }
  });

  it("says so when no ack comes (a sleeping node acts at its next wake)", async () => {
    const broker = await startBroker({ port: 0 });
    try {
      const r = await sendCommand({ broker: broker.url, site: "casa", node: "air-03", keyHex: KEY, cmd: "diag", args: {}, waitMs: 200 });
      expect(r.ack).to.equal(null);
      // Unix time in ms: it rises between two commands in the same second
      expect(r.ctr).to.be.closeTo(Date.now(), 5000);
    } finally {
      await broker.stop();
    }
  });

  it("the default counter and issue time work past 2038 (2^31 s): the node accepts them", async () => {
    const broker = await startBroker({ port: 0 });
    const node = await fakeNode(broker.url, KEY);
    const clock = sinon.useFakeTimers({ now: Date.UTC(2040, 5, 1), toFake: ["Date"] });
    try {
      const r = await sendCommand({ broker: broker.url, site: "casa", node: "pole-07", keyHex: KEY, cmd: "diag", args: {}, waitMs: 5000 });
      expect(r.ctr).to.be.greaterThan(2 ** 31);
      expect(r.ack).to.deep.include({ id: r.id, ok: true });
    } finally {
      clock.restore();
      await node.stop();
      await broker.stop();
    }
  });

  it("a command that reaches the node after its validity (--valid) is refused as expired", async () => {
    const broker = await startBroker({ port: 0 });
    // the node acts 2 minutes after the back office sent it
    const node = await fakeNode(broker.url, KEY, 120_000);
    try {
      const late = await sendCommand({ broker: broker.url, site: "casa", node: "pole-07", keyHex: KEY, cmd: "diag", args: {}, validS: 60, waitMs: 5000 });
      expect(late.ack).to.deep.include({ ok: false, error: "expired" });
      const inTime = await sendCommand({ broker: broker.url, site: "casa", node: "pole-07", keyHex: KEY, cmd: "diag", args: {}, validS: 600, waitMs: 5000 });
      expect(inTime.ack).to.deep.include({ ok: true });
    } finally {
      await node.stop();
      await broker.stop();
    }
  });

  it("refuses bad input before anything is sent", async () => {
    expect(() => commandArgs("blink", undefined)).to.throw(CommandError, /unknown command/);
    expect(() => commandArgs("relay", "dim")).to.throw(CommandError, /relay/);
    expect(() => commandArgs("config", "{not json")).to.throw(CommandError, /JSON/);
    expect(() => commandArgs("config", '{"samplePeriodS":-5}')).to.throw(CommandError, /samplePeriodS/);
    await sendCommand({ broker: "mqtt://127.0.0.1:1", site: "casa", node: "x", keyHex: "zz", cmd: "diag", args: {}, waitMs: 0 }).then(
      () => expect.fail("sent with a bad key"),
      (err) => expect(err.message).to.match(/64 hex digits/),
    );
    await sendCommand({ broker: "mqtt://127.0.0.1:1", site: "casa", node: "x", keyHex: KEY, cmd: "diag", args: {}, validS: 604801, waitMs: 0 }).then(
      () => expect.fail("sent with a validity over a week"),
      (err) => expect(err.message).to.match(/--valid must be 1\.\.604800/),
    );
    await sendCommand({ broker: "mqtt://127.0.0.1:1", site: "casa", node: "x", keyHex: KEY, cmd: "diag", args: {}, id: "x".repeat(32), ctr: 1, waitMs: 0 }).then(
      () => expect.fail("no broker there"),
      (err) => expect(err.message).to.match(/cannot reach the broker/),
    );
  });

  it("finds the node's key in a provisioning keys file, newest line first", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "keys-")), "keys.jsonl");
    writeFileSync(file, [JSON.stringify({ site: "casa", node: "pole-07", keyHex: "11".repeat(32) }), JSON.stringify({ site: "casa", node: "pole-07", keyHex: KEY }), ""].join("\n"));
    expect(findKey("casa", "pole-07", undefined, file)).to.equal(KEY);
    expect(() => findKey("casa", "pole-08", undefined, file)).to.throw(/no key for casa\/pole-08/);
    writeFileSync(file, "garbage\n");
    expect(() => findKey("casa", "pole-07", undefined, file)).to.throw(/:1: not a JSON line/);
  });
});
