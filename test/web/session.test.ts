// The page's console protocol (web/diag/session.ts) on Node: a locked console's read-only
// health request as the console-lock work specifies it, and the password login for actions.
import { expect } from "chai";
import { TextLink } from "../../tools/console-link.js";
import { DiagSession, HEALTH_REQUEST, readLockedHealth } from "../../web/diag/session.js";
import { FakeEspruino } from "../support/fake-espruino.js";

const REPORT = { node: "pole-07", site: "casa", board: "esp32-pole", fw: "0.1.0", queue: { depth: 3, max: 8000 }, devices: {} };

/**
 * A console locked by the firmware (the console-lock protocol this page assumes): the line
 * "health" gets "health <JSON>", a DLE line or an empty one the prompt again, a wrong password
 * "Invalid password" and a wait, the right one "Logged in.".
 */
function firmwareLocked(health: string, password = "right-pw-1"): { link: TextLink; lines: string[] } {
  const lines: string[] = [];
  let pending = "";
  const link: TextLink = new TextLink(
    "fake",
    async (bytes) => {
      pending += bytes;
      let i: number;
      while ((i = pending.search(/\r\n|\n|\r/)) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + (pending.startsWith("\r\n", i) ? 2 : 1));
        lines.push(line);
        const reply =
          line === HEALTH_REQUEST ? `\r\n${HEALTH_REQUEST} ${health}\r\npassword>`
          : line === "" || line.startsWith("\x10") ? "\r\npassword>"
          : line === password ? "\r\n  Logged in.\r\n"
          : "\r\n  Invalid password\r\n  Wait 1 s\r\npassword>";
        setTimeout(() => link.receive(reply), 1);
      }
    },
    async () => {},
  );
  return { link, lines };
}

describe("diagnostics page: console session", () => {
  it("reads a locked console's health report with the fixed request, sending nothing else after the probe", async () => {
    const { link, lines } = firmwareLocked(JSON.stringify(REPORT));
    const s = new DiagSession(link, 500);
    await s.open();
    expect(s.locked).to.equal(true);
    const probes = lines.length;
    expect(await s.read()).to.deep.equal(REPORT);
    expect(lines.slice(probes)).to.deep.equal(["health"]);
    // no password was typed: every probe line was a DLE line
    expect(lines.slice(0, probes).every((l) => l.startsWith("\x10"))).to.equal(true);
  });

  it("refuses a garbled health report and explains a console that gives none", async () => {
    const { link } = firmwareLocked("[1,2");
    const err = await readLockedHealth(link, 300).catch((e: Error) => e);
    expect((err as Error).message).to.match(/^garbled health report from the node on .*: \[1,2$/);

    // Espruino's own lock: the request is taken for a wrong password
    const fake = new FakeEspruino({ password: "right-pw-1" });
    const l2 = new TextLink("fake", async (b) => fake.input(b), async () => {});
    fake.attach((t) => l2.receive(t));
    const err2 = await readLockedHealth(l2, 300).catch((e: Error) => e);
    expect((err2 as Error).message).to.match(/^the locked console on .* gave no health report \(firmware older than the console lock\?\): log in with its password/);
  });

  it("logs in with the password for actions, and says so when it is wrong", async () => {
    const { link } = firmwareLocked(JSON.stringify(REPORT));
    const s = new DiagSession(link, 500);
    await s.open();
    const wrong = await s.login("wrong-pw-9").catch((e: Error) => e);
    expect((wrong as Error).message).to.equal("wrong password for the console on fake");
    expect(s.locked).to.equal(true);
    await s.act("selftest").then(
      () => expect.fail("acted while locked"),
      (e: Error) => expect(e.message).to.equal("log in with the console password first"),
    );

    const fake = new FakeEspruino({ password: "right-pw-1" });
    const l2 = new TextLink("fake", async (b) => fake.input(b), async () => {});
    fake.attach((t) => l2.receive(t));
    const s2 = new DiagSession(l2, 1000);
    await s2.open();
    expect(s2.locked).to.equal(true);
    await s2.login("right-pw-1");
    expect(s2.locked).to.equal(false);
    // no CasaNode firmware on this console: the action says what is missing
    const err = await s2.act("selftest").catch((e: Error) => e);
    expect((err as Error).message).to.equal("this node's firmware has no casanode.selftest(): update it");
  });
});
