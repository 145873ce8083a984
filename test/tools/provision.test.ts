import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEV_KEY_HEX } from "../../firmware/config.js";
import { validateConfig } from "../../firmware/config-check.js";
import { profile as air } from "../../boards/profiles/esp32-air.js";
import { lineColumn, loadJsonFile, locateJsonError, newConsolePassword, provision, type ProvisionOptions } from "../../tools/provision.js";
import type { Reporter } from "../../tools/reporter.js";
import { FakeEspruino, type FakeEspruinoOptions } from "../support/fake-espruino.js";

/**
 * Stand-in firmware: reads casanode.json at boot as the runtime does, locks the console with its
 * password, and answers diag(). A config with site "refused-on-device" is refused at boot (the
 * node then runs on defaults, in safe mode), as a device whose validator disagreed would.
 */
const FIRMWARE =
  'var cfg=require("Storage").readJSON("casanode.json",true)||{};' +
  'var errs=cfg.site==="refused-on-device"?["site must be refused, got \\"refused-on-device\\""]:[];' +
  'var node=errs.length||!cfg.node?"esp32-air-00":cfg.node,site=errs.length||!cfg.site?"sim":cfg.site;' +
  "if(cfg.consolePassword&&!errs.length){E.setPassword(cfg.consolePassword);E.lockConsole();}" +
  'var casanode={diag:function(){return {board:"esp32-air",fw:"0.1.0",node:node,site:site,configErrors:errs}}};' +
  'print("CasaNode 0.1.0 esp32-air "+node+" boot=power-on"+(errs.length?" SAFE MODE: config":""));';

const VALID = {
  site: "casa-centre",
  node: "air-07",
  wifi: { ssid: "city-iot", password: "correct horse" },
  broker: { host: "mqtt.example.org", port: 8883, tls: true },
};

function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return { lines, line: (t) => lines.push(t), progress: () => ({ update: () => {}, stop: () => {} }) };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("field tools: provision", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "casanode-provision-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  let node: FakeEspruino;
  afterEach(() => node?.close());

  async function run(config: string, options: Partial<ProvisionOptions> = {}, fake: FakeEspruinoOptions = {}) {
    node = new FakeEspruino({ files: { ".bootcde": FIRMWARE }, boot: true, ...fake });
    const port = await node.listen();
    const out = recorder();
    const result = provision({ port, config, reporter: out, promptTimeoutMs: 2000, bootTimeoutMs: 2000, ...options });
    return { result, out };
  }

  it("writes a valid config that the node reads at boot, with a new key shown once", async () => {
    const { result, out } = await run(file("ok.json", JSON.stringify(VALID, null, 2)), {}, { noise: true, fragment: true });
    const r = await result;
    const written = JSON.parse(node.files.get("casanode.json")!);
    expect(written).to.deep.include(VALID);
    expect(written.keyHex).to.match(/^[0-9a-f]{64}$/);
    expect(r.keyHex).to.equal(written.keyHex);
    expect(out.lines.filter((l) => l.includes(written.keyHex))).to.have.length(1);
    expect(r.bootLine).to.equal("CasaNode 0.1.0 esp32-air air-07 boot=power-on");
    expect(out.lines[out.lines.length - 1]).to.equal("the node runs as casa-centre/air-07 with the new config");
    expect(node.loads).to.equal(1);
    expect(r).to.include({ board: "esp32-air", node: "air-07", site: "casa-centre", written: true });
  });

  it("generates a different key for each node", async () => {
    const keys = new Set<string>();
    for (const id of ["air-01", "air-02"]) {
      const { result } = await run(file("ok.json", JSON.stringify(VALID)), { node: id });
      keys.add((await result).keyHex!);
      await node.close();
    }
    expect(keys.size).to.equal(2);
  });

  it("keeps a key the config brings, and --node/--site override the file", async () => {
    const key = "ab".repeat(32);
    const { result, out } = await run(file("key.json", JSON.stringify({ ...VALID, keyHex: key })), { node: "air-99", site: "port" });
    const r = await result;
    expect(r.keyHex).to.equal(undefined);
    expect(JSON.parse(node.files.get("casanode.json")!)).to.include({ keyHex: key, node: "air-99", site: "port" });
    expect(out.lines.join("\n")).not.to.include(key);
  });

  it("appends a generated key to --keys-out instead of printing it", async () => {
    const keys = path.join(dir, "keys.jsonl");
    const { result, out } = await run(file("ok.json", JSON.stringify(VALID)), { keysOut: keys });
    const r = await result;
    const entry = JSON.parse(readFileSync(keys, "utf8").trim().split("\n").pop()!);
    expect(entry).to.include({ site: "casa-centre", node: "air-07", board: "esp32-air", keyHex: r.keyHex });
    expect(out.lines.join("\n")).not.to.include(r.keyHex!);
  });

  it("refuses an invalid config with every message of the firmware's validator and writes nothing", async () => {
    const bad = { ...VALID, node: "Air 07", wifi: { ssid: "city-iot", password: "short" }, samplePeriodS: 300, uploadPeriodS: 1000, colour: "red" };
    const { result } = await run(file("bad.json", JSON.stringify(bad)));
    const err = await rejection(result);
    const expected = validateConfig({ ...bad, keyHex: "00".repeat(32) }, air);
    expect(expected.ok).to.equal(false);
    const errors = (expected as { errors: string[] }).errors;
    expect(errors.length).to.be.greaterThan(3);
    for (const e of errors) expect(err.message).to.include("\n  " + e);
    expect(err.message).to.include("wifi.password must be empty (open network) or 8 to 63 characters (WPA2), got 5 characters");
    expect(err.message.split("\n")[0]).to.match(/bad\.json is not a valid config for esp32-air \(\d+ problems\); nothing was written:$/);
    expect(node.files.has("casanode.json")).to.equal(false);
    expect(node.executed.some((l) => l.includes('Storage").write') || l.includes("reset(") || l === "load()")).to.equal(false);
  });

  it("logs in after the restart when the new config locks the console", async () => {
    const { result } = await run(file("locked.json", JSON.stringify({ ...VALID, consolePassword: "pole-secret-1" })));
    const r = await result;
    expect(r.written).to.equal(true);
    expect(node.received).to.include("pole-secret-1\n");
  });

  it("generates a console password when the config has none, into the keys file, and leaves the console locked", async () => {
    const keys = path.join(dir, "keys-pw.jsonl");
    const { result, out } = await run(file("ok.json", JSON.stringify(VALID)), { keysOut: keys });
    const r = await result;
    const written = JSON.parse(node.files.get("casanode.json")!);
    expect(written.consolePassword).to.match(/^[a-km-zA-HJ-NP-Z2-9]{16}$/);
    expect(r.consolePassword).to.equal(written.consolePassword);
    const entry = JSON.parse(readFileSync(keys, "utf8").trim().split("\n").pop()!);
    expect(entry).to.include({ node: "air-07", keyHex: r.keyHex, consolePassword: r.consolePassword });
    expect(out.lines.join("\n")).not.to.include(r.consolePassword!);
    // the tool logged in after the restart, and locked the console again before it let go
    expect(node.received).to.include(r.consolePassword + "\n");
    expect(node.isLocked).to.equal(true);
  });

  it("shows a generated console password once when there is no keys file", async () => {
    const { result, out } = await run(file("ok.json", JSON.stringify(VALID)));
    const r = await result;
    expect(out.lines.filter((l) => l.includes(r.consolePassword!))).to.deep.equal([`console password for casa-centre/air-07 (keep it with the key; it is not shown again): ${r.consolePassword}`]);
  });

  it("generated console passwords differ and use the whole alphabet evenly", () => {
    const seen = new Map<string, number>();
    const passwords = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const pw = newConsolePassword();
      expect(pw).to.have.length(16);
      passwords.add(pw);
      for (const ch of pw) seen.set(ch, (seen.get(ch) ?? 0) + 1);
    }
    expect(passwords.size).to.equal(500);
    expect(seen.size).to.equal(57);
    // 8000 draws over 57 symbols: ~140 each; a modulo bias or a dead symbol shows far outside this
    for (const n of seen.values()) expect(n).to.be.within(80, 210);
  });

  it("refuses a console password under 8 characters and writes nothing", async () => {
    const { result } = await run(file("weak.json", JSON.stringify({ ...VALID, consolePassword: "pw123" })));
    const err = await rejection(result);
    expect(err.message).to.include("\n  consolePassword must be 8 to 20 printable ASCII characters, got 5 characters");
    expect(err.message).to.not.include("pw123");
    expect(node.files.has("casanode.json")).to.equal(false);
  });

  for (const [what, config] of [
    ["no wifi", { site: "casa", node: "air-07", broker: VALID.broker }],
    ["no broker", { site: "casa", node: "air-07", wifi: VALID.wifi }],
    ["a wifi without its password", { ...VALID, wifi: { ssid: "city-iot" } }],
  ] as Array<[string, object]>) {
    it(`refuses a config with ${what}: the node would join the simulator's defaults (usage error)`, async () => {
      const err = (await rejection(provision({ config: file("partial.json", JSON.stringify(config)), board: "esp32-air", dryRun: true, reporter: recorder() }))) as Error & { exitCode: number };
      expect(err.message).to.match(/partial\.json has no (wifi|broker)\S*.*: a real node needs its own Wi-Fi and broker/);
      expect(err.exitCode).to.equal(2);
    });
  }

  it("reports a config the node refuses at boot", async () => {
    const { result } = await run(file("device.json", JSON.stringify({ ...VALID, site: "refused-on-device" })));
    const err = await rejection(result);
    expect(err.message).to.equal('the node refused casanode.json at boot and runs on its console only:\n  site must be refused, got "refused-on-device"');
  });

  it("wants a site and a node id, so no two nodes are provisioned alike (usage error)", async () => {
    const { site: _site, node: _node, ...anonymous } = VALID;
    const err = (await rejection(provision({ config: file("anon.json", JSON.stringify(anonymous)), board: "esp32-air", dryRun: true, reporter: recorder() }))) as Error & { exitCode: number };
    expect(err.message).to.match(/anon\.json names no site and no node: give --site <id> and --node <id> or put "site" and "node" in the file/);
    expect(err.exitCode).to.equal(2);
  });

  it("refuses the development key", async () => {
    const { result } = await run(file("dev.json", JSON.stringify({ ...VALID, keyHex: DEV_KEY_HEX })));
    expect((await rejection(result)).message).to.match(/keyHex is the development key/);
    expect(node.received).to.equal("");
  });

  it("reads the board from the node and refuses a --board that disagrees", async () => {
    const { result } = await run(file("ok.json", JSON.stringify(VALID)), { board: "esp32-bin" });
    expect((await rejection(result)).message).to.match(/runs esp32-air firmware but --board says esp32-bin/);
    expect(node.files.has("casanode.json")).to.equal(false);
  });

  it("asks for --board when no firmware tells it", async () => {
    const { result } = await run(file("ok.json", JSON.stringify(VALID)), {}, { files: {}, boot: false });
    expect((await rejection(result)).message).to.match(/cannot tell the board .*flash it first, or give --board/);
  });

  it("validates without a node on a dry run that names the board", async () => {
    const out = recorder();
    const r = await provision({ config: file("ok.json", JSON.stringify(VALID)), board: "esp32-air", dryRun: true, reporter: out });
    expect(r.written).to.equal(false);
    expect(out.lines.join("\n")).to.match(/valid for esp32-air; node air-07 at site casa-centre[\s\S]*dry run: would write casanode\.json with a newly generated HMAC key and console password/);
  });

  it("names an unknown board with the known ones (usage error)", async () => {
    const err = (await rejection(provision({ config: file("ok.json", JSON.stringify(VALID)), board: "esp32-toaster", dryRun: true, reporter: recorder() }))) as Error & { exitCode: number };
    expect(err.message).to.match(/unknown board esp32-toaster; boards: .*esp32-air/);
    expect(err.exitCode).to.equal(2);
  });

  describe("config files", () => {
    it("says a missing file is missing", () => {
      const missing = path.join(dir, "nope.json");
      expect(existsSync(missing)).to.equal(false);
      expect(() => loadJsonFile(missing)).to.throw(`config file ${missing} not found`);
    });

    const CASES: Array<[string, string, string]> = [
      ['{\n  "site": "x",\n  "node": "y",\n}\n', "4:1", "trailing comma before }"],
      ['{\n  "site": "x"\n  "node": "y"\n}', "3:3", "missing comma between properties"],
      ['{\n  // the site\n  "site": "x"\n}', "2:3", "comments are not allowed in JSON"],
      ["{\n  'site': 'x'\n}", "2:3", "property names need double quotes"],
      ['{ "site": "x\n" }', "1:13", "line break or control character inside a string"],
      ['{ "wifi": { "ssid": "a" }', "1:26", "unexpected end of file: expected ',' or '}'"],
      ['{ "port": 08 }', "1:12", "unexpected \"8\": expected ',' or '}'"],
      ["", "1:1", "unexpected end of file: a value is missing"],
    ];
    for (const [text, at, reason] of CASES) {
      it(`points at ${reason}`, () => {
        const f = file("broken.json", text);
        expect(() => loadJsonFile(f)).to.throw(`${f}:${at}: invalid JSON: ${reason}`);
      });
    }

    it("property: valid JSON passes the locator; a broken copy is caught where JSON.parse fails", () => {
      fc.assert(
        fc.property(fc.json(), fc.nat(), fc.constantFrom("", ",", "}", "]", "'", '"', ":", "x", "\n"), (json, at, insert) => {
          expect(locateJsonError(json)).to.equal(undefined);
          const cut = at % (json.length + 1);
          const broken = json.slice(0, cut) + insert + json.slice(cut + (insert ? 0 : 1));
          let parses = true;
          try {
            JSON.parse(broken);
          } catch {
            parses = false;
          }
          const found = locateJsonError(broken);
          expect(found === undefined).to.equal(parses);
          if (found) expect(found.offset).to.be.within(0, broken.length);
        }),
        { numRuns: 500 },
      );
    });

    it("counts lines and columns from 1, CRLF or LF", () => {
      expect(lineColumn("ab\r\ncd", 5)).to.deep.equal({ line: 2, column: 2 });
      expect(lineColumn("x", 0)).to.deep.equal({ line: 1, column: 1 });
    });
  });
});
