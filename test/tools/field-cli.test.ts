import { expect } from "chai";
import sinon from "sinon";
import net from "node:net";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { main } from "../../tools/cli.js";
import { ROOT } from "../../toolchain/root.mjs";
import { FakeEspruino } from "../support/fake-espruino.js";

/** Run `casanode <args>` as bin/casanode.js does; what the person at the terminal sees. */
async function casanode(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = sinon.stub(process.stdout, "write").callsFake((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = sinon.stub(process.stderr, "write").callsFake((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.restore();
    err.restore();
  }
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("field tools: command line", () => {
  let node: FakeEspruino | undefined;
  afterEach(() => node?.close());

  it("runs diag against a node and prints its report", async () => {
    node = new FakeEspruino({
      files: { ".bootcde": 'var casanode={diag:function(){return {node:"air-07",site:"casa",board:"esp32-air",fw:"0.1.0",uptimeS:61}}};' },
      boot: true,
    });
    const r = await casanode(["diag", "--port", await node.listen()]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include("CasaNode casa/air-07  board esp32-air  firmware 0.1.0");
    expect(r.stdout).to.include("up 1 min 1 s");
  });

  it("a missing --port is a usage error (exit 2) that commander explains", async () => {
    const r = await casanode(["flash", "--board", "esp32-air"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/required option '-p, --port <port>' not specified/);
  });

  it("a malformed address is a usage error (exit 2), one line", async () => {
    const r = await casanode(["diag", "--port", "tcp://nowhere"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal("casanode: bad console address tcp://nowhere: expected tcp://host:port, e.g. tcp://localhost:4001\n");
  });

  it("an unreachable node is exit 1 with one line and no stack trace", async () => {
    const port = await closedPort();
    const r = await casanode(["diag", "--port", `tcp://127.0.0.1:${port}`]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^casanode: nothing listens on tcp:\/\/127\.0\.0\.1:\d+ \(connection refused\)[^\n]*\n$/);
  });

  it("a missing config file is exit 1", async () => {
    const r = await casanode(["provision", "--config", "/nonexistent/site.json", "--board", "esp32-air", "--dry-run"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal("casanode: config file /nonexistent/site.json not found\n");
  });

  it("refuses a watch period that is not a positive number (exit 2)", async () => {
    const r = await casanode(["diag", "--port", "tcp://localhost:4001", "--watch", "0"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/--watch <s>.*a number of seconds above 0/);
  });
});

describe("field tools: run from any folder", () => {
  it("casanode build works from outside the repo, writing the repo's dist/ (a technician's shell is anywhere)", function () {
    this.timeout(180_000);
    // a fresh process: the build config must load in the repo's folder, wherever the shell is
    const elsewhere = mkdtempSync(path.join(tmpdir(), "casanode-cwd-"));
    const before = Date.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "casanode.js"), "build", "linux"], { cwd: elsewhere, encoding: "utf8", timeout: 170_000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/dist\/linux\.js .* espruino-safe/);
    expect(statSync(path.join(ROOT, "dist", "linux.js")).mtimeMs).to.be.at.least(before - 1000);
    expect(existsSync(path.join(elsewhere, "dist"))).to.equal(false);
  });
});
