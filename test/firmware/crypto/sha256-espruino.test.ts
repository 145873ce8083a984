// The plain-JS SHA-256 and HMAC run on Espruino itself: an ESP32 build has no crypto module, so
// every command's MAC (and every OTA manifest's) is checked by this code on the chip. Node agreeing
// proves the algorithm; this proves Espruino's numbers (its 32-bit ops, string chars) agree too.
// Runs where an Espruino Linux build is found (ESPRUINO_BIN or `espruino` on PATH), else skipped.
import { expect } from "chai";
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { rollup, type Plugin } from "rollup";
import { findEspruino, runOnEspruino } from "../../../bench/real-espruino.js";

const root = path.resolve(import.meta.dirname, "../../..");
/** rollup.config.mjs is plain JavaScript: its firmware plugins, typed here */
const { firmwarePlugins } = (await import(pathToFileURL(path.join(root, "rollup.config.mjs")).href)) as { firmwarePlugins: () => Plugin[] };

/** the crypto modules as a board bundle has them (TypeScript to ES5, terser), with a script that prints each digest */
async function espruinoScript(cases: { msg: string; key?: string }[]): Promise<string> {
  const entry = "\0sha256-espruino-entry";
  const bundle = await rollup({
    input: entry,
    treeshake: { moduleSideEffects: false },
    plugins: [
      {
        name: "entry",
        resolveId: (id: string) => (id === entry ? entry : null),
        load: (id: string) =>
          id === entry
            ? `import { sha256 } from ${JSON.stringify(root + "/firmware/crypto/sha256.ts")};
import { hmacSha256, toHex, fromHex } from ${JSON.stringify(root + "/firmware/crypto/hmac.ts")};
var cases = ${JSON.stringify(cases)};
for (var i = 0; i < cases.length; i++) {
  var c = cases[i], m = fromHex(c.msg);
  print("DIGEST " + i + " " + toHex(c.key === undefined ? sha256(m) : hmacSha256(sha256, fromHex(c.key), m)));
}
print("DONE");`
            : null,
      },
      ...firmwarePlugins(),
    ],
  });
  try {
    const { output } = await bundle.generate({ format: "iife", strict: false, generatedCode: "es5" });
    return output[0].code;
  } finally {
    await bundle.close();
  }
}

/** deterministic bytes 0-255, high ones included */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe("plain-JS SHA-256 and HMAC on Espruino's Linux build", function () {
  this.timeout(120_000);
  const { bin, why } = findEspruino();

  it("gives Node's digests for every padding boundary, high bytes and RFC 4231 keys", async function () {
    if (!bin) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
    const cases: { msg: string; key?: string; want: string }[] = [];
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 200, 1000]) {
      const m = bytes(n, n + 1);
      cases.push({ msg: m.toString("hex"), want: createHash("sha256").update(m).digest("hex") });
    }
    // HMAC: a 20-byte key, a key longer than the block (hashed first: RFC 4231 case 6), a command-sized message
    for (const [key, msg] of [
      [Buffer.alloc(20, 0x0b), Buffer.from("Hi There")],
      [Buffer.alloc(131, 0xaa), Buffer.from("Test Using Larger Than Block-Size Key - Hash Key First")],
      [bytes(32, 7), bytes(400, 9)],
    ]) {
      cases.push({ key: key.toString("hex"), msg: msg.toString("hex"), want: createHmac("sha256", key).update(msg).digest("hex") });
    }
    const dir = mkdtempSync(path.join(tmpdir(), "casanode-sha-"));
    try {
      writeFileSync(path.join(dir, "sha.js"), await espruinoScript(cases.map(({ msg, key }) => ({ msg, key }))));
      const r = await runOnEspruino(bin as string, "sha.js", dir, 60_000);
      expect(r.out, r.out.slice(-2000)).to.contain("DONE");
      const got = new Map([...r.out.matchAll(/^DIGEST (\d+) ([0-9a-f]+)$/gm)].map((m) => [Number(m[1]), m[2]]));
      cases.forEach((c, i) => expect(got.get(i), `case ${i} (${c.key === undefined ? "sha256" : "hmac"}, ${c.msg.length / 2} bytes)`).to.equal(c.want));
      // RFC 4231 test case 1, as published
      expect(got.get(16)).to.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
