import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { startBroker } from "../../sim/broker.js";
import { verifyCommand, ackMessage } from "../../firmware/uplink/commands.js";
import { sendCommand, commandArgs, findKey, CommandError } from "../../tools/command.js";

const KEY = "5a".repeat(32);
const sha256 = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("binary");

/** A stand-in node: checks each command with the firmware's own verifier and acks it. */
async function fakeNode(url: string, keyHex: string) {
  const c = mqtt.connect(url, { clientId: "node-pole-07" });
  let lastCtr = 0;
  const seen: string[] = [];
  c.on("message", (_t, msg) => {
    const r = verifyCommand(msg.toString("latin1"), "pole-07", keyHex, lastCtr, sha256);
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
      expect(r.ctr).to.be.closeTo(Date.now() / 1000, 5);
    } finally {
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
    await sendCommand({ broker: "mqtt://127.0.0.1:1", site: "casa", node: "x", keyHex: KEY, cmd: "diag", args: {}, waitMs: 0 }).then(
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
