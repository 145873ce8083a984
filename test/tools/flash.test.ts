import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import vm from "node:vm";
import { espruinoCliArgs, flash, type FlashOptions } from "../../tools/flash.js";
import { storageWriteCommands } from "../../toolchain/storage.js";
import type { Reporter } from "../../tools/reporter.js";
import { FakeEspruino, type FakeEspruinoOptions } from "../support/fake-espruino.js";

/** A stand-in firmware: prints the boot line and exposes diag() as the runtime's console does. */
const TEST_BUNDLE =
  'var casanode={diag:function(){return {board:"esp32-air",fw:"0.1.0",node:"air-07",site:"casa"}}};' +
  'function pad(n){var s="";for(var i=0;i<n;i++)s+="x";return s}var filler=pad(10);' +
  "/* " + "padding to make several chunks ".repeat(40) + " */" +
  'print("CasaNode 0.1.0 esp32-air air-07 boot=power-on");';

function recorder(): Reporter & { lines: string[]; updates: number[] } {
  const lines: string[] = [];
  const updates: number[] = [];
  return { lines, updates, line: (t) => lines.push(t), progress: () => ({ update: (n) => updates.push(n), stop: () => {} }) };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("field tools: flash", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "casanode-flash-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = path.join(dir, "esp32-air.js");
  writeFileSync(bundle, TEST_BUNDLE);
  let node: FakeEspruino;
  afterEach(() => node?.close());

  async function run(fake: FakeEspruinoOptions, options: Partial<FlashOptions> = {}) {
    node = new FakeEspruino(fake);
    const port = await node.listen();
    const out = recorder();
    const result = flash({ port, board: "esp32-air", bundleFile: bundle, reporter: out, promptTimeoutMs: 2000, bootTimeoutMs: 2000, ...options });
    return { result, out };
  }

  it("writes the bundle to .bootcde in acknowledged chunks, verifies its CRC and restarts the node", async () => {
    const { result, out } = await run({ noise: true, fragment: true, files: { ".bootcde": "print('old firmware')" }, boot: true });
    const r = await result;
    expect(node.files.get(".bootcde")).to.equal(TEST_BUNDLE);
    expect(r.crc).to.equal(zlib.crc32(Buffer.from(TEST_BUNDLE)));
    expect(r.chunks).to.equal(Math.ceil(TEST_BUNDLE.length / 384));
    const writes = node.executed.filter((l) => l.includes('require("Storage").write(".bootcde"'));
    expect(writes).to.have.length(r.chunks);
    // the firmware was stopped before the first write, restarted after the CRC check
    expect(node.resets).to.equal(1);
    expect(node.loads).to.equal(1);
    const resetAt = node.executed.findIndex((l) => l.includes("reset(),true"));
    expect(resetAt).to.be.greaterThan(-1);
    const crcAt = node.executed.findIndex((l) => l.includes("E.CRC32"));
    expect(resetAt).to.be.lessThan(node.executed.indexOf(writes[0]));
    expect(crcAt).to.be.greaterThan(node.executed.indexOf(writes[writes.length - 1]));
    const loadAt = node.executed.indexOf("load()");
    expect(loadAt).to.be.greaterThan(crcAt);
    // after the restart, the firmware's console answers
    expect(node.executed.slice(loadAt).some((l) => l.includes("casanode.diag()"))).to.equal(true);
    expect(r.bootLine).to.equal("CasaNode 0.1.0 esp32-air air-07 boot=power-on");
    expect(out.updates[out.updates.length - 1]).to.equal(TEST_BUNDLE.length);
    expect(out.lines.join("\n")).to.match(/verified: \d+ bytes, CRC-32 0x[0-9a-f]{8} on the node/);
  });

  it("keeps every REPL line short enough for the ESP32's UART buffer", async () => {
    const { result } = await run({});
    await result;
    for (const line of node.executed) expect(line.length).to.be.below(1024);
  });

  it("writes nothing on a dry run", async () => {
    const { result, out } = await run({ files: { ".bootcde": "old" } }, { dryRun: true });
    await result;
    expect(node.files.get(".bootcde")).to.equal("old");
    expect(node.executed.some((l) => l.includes("Storage\").write") || l.includes("reset(") || l === "load()")).to.equal(false);
    expect(out.lines.join("\n")).to.match(/dry run: would write \d+ bytes to \.bootcde/);
  });

  it("refuses a bundle that fails the Espruino check, before opening the port", async () => {
    const bad = path.join(dir, "bad.js");
    writeFileSync(bad, "async function f(){ await g(); }");
    const { result } = await run({}, { bundleFile: bad });
    const err = await rejection(result);
    expect(err.message).to.match(/^refusing .*bad\.js: it uses what Espruino does not run \(async function at 1:0; await at 1:20\)/);
    expect(node.received).to.equal("");
  });

  it("stops when the node refuses a chunk (flash full)", async () => {
    const { result } = await run({ refuseWriteAt: 384 });
    const err = await rejection(result);
    expect(err.message).to.equal(`the node did not store .bootcde at byte 384 of ${TEST_BUNDLE.length} (flash full or worn?)`);
    expect(node.loads).to.equal(0);
  });

  it("erases a copy that fails its CRC and does not restart into it", async () => {
    const { result, out } = await run({ corruptAt: 500 });
    const err = await rejection(result);
    expect(err.message).to.match(/^verification of \.bootcde failed: the node has \d+ bytes, CRC-32 0x[0-9a-f]{8}, expected \d+ bytes/);
    expect(node.files.has(".bootcde")).to.equal(false);
    expect(node.loads).to.equal(0);
    expect(out.lines.join("\n")).to.match(/erased the bad \.bootcde/);
  });

  it("says so when the new firmware prints no boot line", async () => {
    const silentBundle = path.join(dir, "quiet.js");
    writeFileSync(silentBundle, "var x=1;");
    const { result } = await run({}, { bundleFile: silentBundle, bootTimeoutMs: 150 });
    expect((await rejection(result)).message).to.match(/printed no CasaNode boot line within 0\.15 s/);
    expect(node.files.get(".bootcde")).to.equal("var x=1;");
  });

  it("reports a firmware that stops right after its boot line", async () => {
    const crashing = path.join(dir, "crash.js");
    writeFileSync(crashing, 'print("CasaNode 0.1.0 esp32-air air-07 boot=power-on");null.x();var casanode={diag:function(){return {}}};');
    const { result } = await run({}, { bundleFile: crashing });
    const msg = (await rejection(result)).message;
    expect(msg).to.match(/^the node printed its boot line, then its firmware stopped \(Uncaught TypeError: Cannot read properties of null .*\); read its boot output on a serial terminal$/);
  });

  it("warns when the node comes up in safe mode", async () => {
    const safe = path.join(dir, "safe.js");
    writeFileSync(safe, 'var casanode={diag:function(){return {safe:"boot loop: 3 boots in 10 min"}}};print("CasaNode 0.1.0 esp32-air air-07 boot=power-on SAFE MODE: boot loop");');
    const { result, out } = await run({}, { bundleFile: safe });
    await result;
    expect(out.lines).to.include("warning: the node is in SAFE MODE: boot loop: 3 boots in 10 min");
  });

  it("succeeds, with a note, when the restarted node locks its console and no password was given", async () => {
    const locking = path.join(dir, "locking.js");
    writeFileSync(locking, TEST_BUNDLE + 'E.setPassword("pole-secret");E.lockConsole();');
    const { result, out } = await run({}, { bundleFile: locking });
    expect((await result).written).to.equal(true);
    expect(out.lines.join("\n")).to.match(/the console is locked after the restart .*give --password/);
  });

  it("logs in to the restarted node with --password, and locks its console again before closing", async () => {
    const locking = path.join(dir, "locking-pw.js");
    writeFileSync(locking, TEST_BUNDLE + 'E.setPassword("pole-secret");E.lockConsole();');
    const { result } = await run({ password: "pole-secret", files: { ".bootcde": locking }, boot: true }, { bundleFile: locking, password: "pole-secret" });
    expect((await result).written).to.equal(true);
    expect(node.isLocked).to.equal(true);
  });

  it("locks the console again when it fails after stopping the firmware (no firmware runs to lock it)", async () => {
    // reset() cleared the node's password from RAM: the tool sets it again before locking
    const { result } = await run({ password: "pole-secret", refuseWriteAt: 0 }, { password: "pole-secret" });
    expect((await rejection(result)).message).to.match(/did not store \.bootcde at byte 0/);
    expect(node.resets).to.equal(1);
    expect(node.isLocked).to.equal(true);
    expect(node.executed.pop()).to.match(/E\.setPassword\("pole-secret"\),E\.lockConsole\(\)/);
  });

  it("refuses a bundle bigger than the node's free flash", async () => {
    const big = path.join(dir, "big.js");
    writeFileSync(big, "var s='" + "x".repeat(300000) + "';");
    const { result } = await run({}, { bundleFile: big });
    expect((await rejection(result)).message).to.match(/the node has room for \d+ bytes in flash, the bundle needs 300009/);
  });

  it("names the boards there are when asked for an unknown one (usage error)", async () => {
    const err = (await rejection(flash({ port: "tcp://127.0.0.1:1", board: "esp32-toaster", reporter: recorder() }))) as Error & { exitCode: number };
    expect(err.message).to.match(/^unknown board esp32-toaster; boards: .*esp32-air/);
    expect(err.exitCode).to.equal(2);
  });

  it("property: the chunk commands rebuild exactly the bytes, whatever the size and chunking", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 1024 }), (bytes, chunk) => {
        let file: Buffer | undefined;
        const context = vm.createContext({
          atob: (b: string) => Buffer.from(b, "base64"),
          require: () => ({
            write(name: string, data: Buffer, offset: number, size?: number) {
              if (size !== undefined) file = Buffer.alloc(size, 0xff);
              data.copy(file!, offset);
              return true;
            },
          }),
        });
        const commands = storageWriteCommands(".bootcde", bytes, chunk);
        for (const c of commands) vm.runInContext(c, context);
        expect(commands).to.have.length(Math.max(1, Math.ceil(bytes.length / chunk)));
        expect(Buffer.compare(file!, Buffer.from(bytes))).to.equal(0);
      }),
      { numRuns: 100 },
    );
  });

  it("builds the espruino CLI command that writes .bootcde", () => {
    expect(espruinoCliArgs("/dev/ttyUSB0", "dist/esp32-air.js")).to.deep.equal(["--no-ble", "-p", "/dev/ttyUSB0", "-b", "115200", "--board", "ESP32", "--storage", ".bootcde:dist/esp32-air.js"]);
  });
});
