// The console lock on a fake chip on virtual time: the REPL is off its port while locked, the
// firmware reads the port (password with a doubling delay between wrong guesses, the "health"
// request), relocks after 10 idle minutes or on casanode.lock(), and a refused config keeps
// the lock of the file it refused.
import { expect } from "chai";
import { Chip, tearDown, board, KEY, MINUTE } from "../../support/fake-chip.js";
import { GUESS_DELAY_MS, IDLE_LOCK_MS } from "../../../firmware/runtime/lock.js";

const PW = "pole-secret-1";
const cfg = (over: any = {}) => ({ site: "t", node: "n1", keyHex: KEY, consolePassword: PW, wifi: { ssid: "city", password: "wifi-secret-9" }, ...over });

describe("console lock (firmware)", () => {
  let chip: Chip | undefined;
  afterEach(() => {
    tearDown(chip);
    chip = undefined;
  });

  async function boot(config: object | string): Promise<Chip> {
    chip = new Chip({ board: board("m", "mains"), config });
    chip.start();
    await chip.run(5000);
    return chip;
  }

  /** what the port printed after typing a line */
  function typed(c: Chip, line: string): string {
    const from = c.consoleOut.length;
    c.type(line + "\r");
    return c.consoleOut.slice(from);
  }

  it("takes the REPL off its port at boot; the boot line still goes out on the port", async () => {
    const c = await boot(cfg());
    expect(c.replAttached).to.equal(false);
    expect(c.consoleOut).to.match(/CasaNode \S+ m n1 boot=power-on/);
    expect(c.consoleOut).to.match(/password>$/);
  });

  it("answers 'health' before login with the diag report, and no secret", async () => {
    const c = await boot(cfg({ broker: { host: "b", port: 1883, password: "mqtt-secret-7" } }));
    const out = typed(c, "health");
    const m = /\nhealth (\{[^\r\n]*\})\r\npassword>$/.exec(out);
    expect(m, out).to.not.equal(null);
    const report = JSON.parse(m![1]);
    expect(report).to.include({ node: "n1", site: "t", board: "m" });
    expect(report.counters).to.be.an("object");
    for (const secret of [PW, "wifi-secret-9", "mqtt-secret-7", KEY]) expect(c.consoleOut).to.not.include(secret);
    expect(c.replAttached).to.equal(false);
  });

  it("never takes a program's DLE line or an empty line as a guess", async () => {
    const c = await boot(cfg());
    expect(typed(c, "\x10print(1)")).to.equal("\r\npassword>");
    expect(typed(c, "")).to.equal("\r\npassword>");
    expect(typed(c, PW)).to.match(/Logged in/);
  });

  it("doubles the wait after each wrong password and takes no guess before it ends", async () => {
    const c = await boot(cfg());
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const out = typed(c, "wrong-" + i);
      expect(out).to.match(/Invalid password/);
      const wait = Number(/Wait (\d+) s/.exec(out)![1]);
      waits.push(wait);
      // the right password during the wait is refused too: guesses cannot be queued
      await c.run(wait * 1000 - 500);
      expect(typed(c, PW)).to.match(/Wait 1 s: too many wrong passwords/);
      expect(c.replAttached).to.equal(false);
      await c.run(500);
    }
    expect(waits).to.deep.equal([1, 2, 4, 8, 16].map((s) => (s * GUESS_DELAY_MS) / 1000));
    expect(typed(c, PW)).to.match(/Logged in/);
    expect(c.replAttached).to.equal(true);
    // a login starts the count again
    c.console!.lock();
    await c.run(10);
    expect(typed(c, "wrong")).to.match(/Wait 1 s\r\n/);
  });

  it("relocks after 10 minutes without a casanode.* call, not while they keep coming", async () => {
    const c = await boot(cfg());
    typed(c, PW);
    expect(c.replAttached).to.equal(true);
    for (let i = 0; i < 5; i++) {
      await c.run(IDLE_LOCK_MS / 2);
      c.console!.status();
    }
    expect(c.replAttached).to.equal(true);
    await c.run(IDLE_LOCK_MS + 2000);
    expect(c.replAttached).to.equal(false);
    expect(c.consoleOut).to.match(/Console locked[^\n]*\r\npassword>$/);
  });

  it("casanode.lock() relocks once the line that called it has been answered", async () => {
    const c = await boot(cfg());
    typed(c, PW);
    expect(c.console!.lock()).to.equal(true);
    expect(c.replAttached).to.equal(true);
    await c.run(10);
    expect(c.replAttached).to.equal(false);
  });

  it("a config refused at boot keeps its console password", async () => {
    const c = await boot(cfg({ samplePeriodS: 7 }));
    expect(c.console!.diag().configErrors.join()).to.match(/samplePeriodS/);
    expect(c.replAttached).to.equal(false);
    expect(typed(c, PW)).to.match(/Logged in/);
  });

  it("a refused password too short for today's rule still locks with itself", async () => {
    const c = await boot(cfg({ consolePassword: "short" }));
    expect(c.console!.diag().configErrors.join()).to.match(/consolePassword must be 8 to 20 printable ASCII characters, got 5 characters/);
    expect(c.consoleOut).to.not.include('"short"');
    expect(typed(c, "short")).to.match(/Logged in/);
  });

  it("a casanode.json that is not JSON locks with the password written in it", async () => {
    const text = JSON.stringify(cfg()).replace(/}$/, ",}");
    const c = await boot(text);
    expect(c.console!.diag().configErrors.join()).to.match(/not valid JSON/);
    expect(c.replAttached).to.equal(false);
    expect(typed(c, PW)).to.match(/Logged in/);
  });

  it("a node without a console password keeps its REPL open", async () => {
    const c = await boot(cfg({ consolePassword: undefined }));
    expect(c.replAttached).to.equal(true);
  });
});
