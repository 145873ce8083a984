// The serial path with serialport's real (native) binding: a pseudo-terminal pair from socat
// stands in for the USB-serial cable, with the fake Espruino REPL on the far end.

import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs, { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { SerialPort } from "serialport";
import { tmpdir } from "node:os";
import path from "node:path";
import { openLink, type ConsoleLink } from "../../tools/console-link.js";
import { Repl } from "../../tools/repl.js";
import { flash } from "../../tools/flash.js";
import type { Reporter } from "../../tools/reporter.js";
import { FakeEspruino } from "../support/fake-espruino.js";

const hasSocat = spawnSync("socat", ["-V"]).status === 0;

function quiet(): Reporter {
  return { line: () => {}, progress: () => ({ update: () => {}, stop: () => {} }) };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("field tools: a real serial port", () => {
  it("names a device path that does not exist, with the ports there are", async () => {
    const err = await rejection(openLink("/dev/ttyCASANODE-NONE"));
    expect(err.message).to.match(/^no serial port \/dev\/ttyCASANODE-NONE; (ports found: |no serial ports found|the serial ports could not be listed)/);
  });

  describe("through a pseudo-terminal pair (socat)", function () {
    let socat: ChildProcess;
    let dir: string;
    let node: FakeEspruino;
    let peer: SerialPort;

    before(async function () {
      if (!hasSocat) this.skip(); // .ci/run installs socat
      dir = mkdtempSync(path.join(tmpdir(), "casanode-pty-"));
      socat = spawn("socat", [`pty,raw,echo=0,link=${dir}/tool`, `pty,raw,echo=0,link=${dir}/node`], { stdio: "ignore" });
      for (let i = 0; i < 100 && !(existsSync(`${dir}/tool`) && existsSync(`${dir}/node`)); i++) await new Promise((r) => setTimeout(r, 10));
      node = new FakeEspruino({ files: { ".bootcde": 'var casanode={diag:function(){return {board:"esp32-air",fw:"0.1.0"}}};' }, boot: true, noise: true });
      // the node's end, opened with serialport too (a plain fs stream on a pty reads in libuv's
      // thread pool, and closing it under a pending read races with fd reuse)
      peer = await new Promise<SerialPort>((resolve, reject) => {
        const p: SerialPort = new SerialPort({ path: `${dir}/node`, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
      });
      peer.on("data", (d: Buffer) => node.input(d.toString("latin1")));
      node.attach((text) => void peer.write(Buffer.from(text, "latin1")));
    });

    after(async () => {
      if (!peer) return;
      if (peer.isOpen) await new Promise((r) => peer.close(() => r(undefined)));
      socat.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    it("opens the port at 115200 8N1 and speaks the REPL over it", async () => {
      const link: ConsoleLink = await openLink(`${dir}/tool`);
      try {
        const repl = new Repl(link, { promptTimeoutMs: 2000 });
        await repl.attach();
        expect(await repl.eval("process.env.VERSION")).to.equal("2v29");
      } finally {
        await link.close();
      }
    });

    it("flashes over it", async () => {
      const bundle = path.join(dir, "b.js");
      writeFileSync(bundle, 'var casanode={diag:function(){return {board:"esp32-air",fw:"0.1.0"}}};print("CasaNode 0.1.0 esp32-air air-01 boot=power-on");' + "/*" + "x".repeat(1500) + "*/");
      const r = await flash({ port: `${dir}/tool`, board: "esp32-air", bundleFile: bundle, reporter: quiet(), promptTimeoutMs: 2000 });
      expect(r.chunks).to.equal(5);
      expect(node.files.get(".bootcde")).to.equal(fs.readFileSync(bundle, "latin1"));
    });

    it("says the port is busy when another program holds it", async () => {
      const first = await openLink(`${dir}/tool`);
      try {
        const err = await rejection(openLink(`${dir}/tool`));
        expect(err.message).to.match(/is busy: another program has it open/);
      } finally {
        await first.close();
      }
    });
  });
});
