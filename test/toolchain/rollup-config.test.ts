import { expect } from "chai";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { rollup } from "rollup";
import typescript from "@rollup/plugin-typescript";
import ts from "typescript";
// @ts-expect-error: the rollup config is plain JavaScript
import { oneShotTypeScript } from "../../rollup.config.mjs";
import { readFileSync } from "node:fs";
import { untokenise, tokenise } from "../../toolchain/pretokenise.mjs";
import { createHash } from "node:crypto";
import * as acorn from "acorn";
import { evaluatedStrings } from "../support/bundle-rig.js";
import { boardNames } from "../../toolchain/boards.mjs";
import type { BoardProfile } from "../../firmware/board.js";

const watchers = () => (process as any)._getActiveHandles().filter((h: object) => h.constructor.name === "FSWatcher").length;

/** build a one-file project with a type error through the TypeScript plugin as the config sets it up */
async function failedBuild(typescriptImpl: typeof ts): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "casanode-tserr-"));
  try {
    writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES5", module: "ESNext", strict: true }, include: ["*.ts"] }));
    writeFileSync(path.join(dir, "main.ts"), 'export const n: number = "not a number";\n');
    try {
      await rollup({ input: path.join(dir, "main.ts"), plugins: [typescript({ typescript: typescriptImpl, tsconfig: path.join(dir, "tsconfig.json"), noEmitOnError: true, outDir: undefined, filterRoot: dir, include: ["*.ts"] })] });
    } catch (err) {
      return (err as Error).message;
    }
    return "built";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** boards/profiles/<board>.ts: what the board fits decides what its bundle carries */
async function boardProfile(board: string): Promise<BoardProfile> {
  return ((await import(`../../boards/profiles/${board}.js`)) as { profile: BoardProfile }).profile;
}

/** a bundle's text without the strings it evaluates: what Espruino lexes at every wake */
function lexedAtEveryWake(evaluated: ReturnType<typeof evaluatedStrings>): string {
  let text = evaluated[0].text;
  for (const e of [...evaluated].sort((a, b) => b.literal[0] - a.literal[0])) text = text.slice(0, e.literal[0]) + text.slice(e.literal[1]);
  return text;
}

describe("rollup config", () => {
  it("the link's code and the commands' are strings the bundle evaluates, handed the bundle's own config, store and console code rather than a second copy", () => {
    // the strings the bundle evaluates (firmware/runtime/parts.ts)
    const evaluated = evaluatedStrings("esp32-bin-lp");
    const found = evaluated.find((e) => e.code.includes("__casanodeUplink"))!;
    expect(found, "the link's eval").to.not.equal(undefined);
    const link = found.code, text = found.text;
    expect(link).to.match(/MQTT/);
    // the bundle's bindings it uses, read by position from what the loader hands over
    expect(link).to.match(/__casanodeShared\[\d+\]/);
    // the link carries no config code: it uses the bundle's through the hand-over
    expect(link).to.not.include("a whole number of ms");
    // handed over with the image as an array, no names lexed at every wake: evalPart("__casanodeUplink", "<image>", [a, b, ...])
    expect(text.slice(found.literal[1], found.literal[1] + 10)).to.match(/^\s*,\s*\[\w/);
    // the commands' code is a part of its own, evaluated when one arrives: not in every upload's
    const commands = evaluated.map((e) => e.code).find((c) => c.includes("__casanodeCommands"))!;
    expect(commands, "the commands' eval").to.not.equal(undefined);
    expect(commands).to.include("mac mismatch");
    expect(link).to.not.include("mac mismatch");
  });

  it("a wake lexes no maintenance-console commands: casanode.diag() and the rest are a string evaluated when a crew calls one", () => {
    for (const board of ["esp32-bin-lp", "esp32-air", "linux"]) {
      const evaluated = evaluatedStrings(board), outside = lexedAtEveryWake(evaluated);
      expect(outside, board).to.not.include("last upload: ");
      expect(evaluated.find((e) => e.code.includes("__casanodeConsole"))!.code, board).to.include("last upload: ");
      // nor the diag report: the link (power-on and safe boots) and the lock (a crew at the
      // console) evaluate it with the console's code
      expect(outside, board).to.not.include("lifeYears");
      expect(evaluated.find((e) => e.code.includes("__casanodeConsole"))!.code, board).to.include("lifeYears");
      // nor the figures only the report works out (runtime/diag-figures.ts): the flash life's result fields, the masked secrets
      for (const only of ["erasesPerSectorPerDay", '"***"']) {
        expect(outside, `${board}: ${only}`).to.not.include(only);
        expect(evaluated.find((e) => e.code.includes("__casanodeConsole"))!.code, `${board}: ${only}`).to.include(only);
      }
    }
  });

  it("a wake lexes no config check: it is in the commands' string, evaluated only when the config (or the firmware) changed since it last passed", () => {
    for (const board of ["esp32-bin-lp", "esp32-air", "linux"]) {
      const evaluated = evaluatedStrings(board), outside = lexedAtEveryWake(evaluated);
      expect(outside, board).to.not.include("a whole number of ms");
      expect(outside, board).to.not.include("(a typo?)");
      expect(evaluated.find((e) => e.code.includes("__casanodeCommands"))!.code, board).to.include("a whole number of ms");
    }
  });

  it("a wake lexes no SHA-256: the plain-JS one (for builds without crypto, as the ESP32's) is in the commands' and the OTA code's strings only", () => {
    // SHA-256's first round constant, 0x428a2f98, as terser prints it
    const K0 = /1116352408|0x428a2f98/i;
    for (const board of ["esp32-bin-lp", "esp32-air", "esp32-pole"]) {
      const evaluated = evaluatedStrings(board), outside = lexedAtEveryWake(evaluated);
      expect(outside, board).to.not.match(K0);
      expect(evaluated.find((e) => e.code.includes("__casanodeCommands"))!.code, board).to.match(K0);
      expect(evaluated.find((e) => e.code.includes("__casanodeOta"))!.code, board).to.match(K0);
    }
  });

  it("a wake from deep sleep lexes no power-on code: boot counting, Bluetooth and the setup lines are a string evaluated at a power-on or reset", () => {
    // lines only runtime/power-on.ts prints
    const LINES = ["boots in a row that did not finish a cycle", "(board profile bleConsole)", "development command key"];
    for (const board of ["esp32-bin-lp", "esp32-air", "esp32-pole", "linux"]) {
      const evaluated = evaluatedStrings(board), outside = lexedAtEveryWake(evaluated);
      const powerOn = evaluated.find((e) => e.code.includes("__casanodePowerOn"))!.code;
      for (const line of LINES) {
        expect(outside, `${board}: "${line}"`).to.not.include(line);
        expect(powerOn, `${board}: "${line}"`).to.include(line);
      }
    }
  });

  it("a wake that only samples lexes no broker session nor mains code; an upload wake lexes no mains code: the session is in the link's string, mains operation in a string of its own", () => {
    // lines only uplink/session.ts prints: the SNTP wait of a session, a failed upload; and uplink/mains.ts: mains safe mode
    const SESSION_LINES = ["no SNTP answer in", "upload failed: "], MAINS_LINE = "safe mode: trying a normal boot";
    for (const board of ["esp32-bin-lp", "esp32-air", "esp32-pole", "linux"]) {
      const evaluated = evaluatedStrings(board), outside = lexedAtEveryWake(evaluated);
      const link = evaluated.find((e) => e.code.includes("__casanodeUplink"))!.code;
      const mains = evaluated.find((e) => e.code.includes("__casanodeMains"))!.code;
      for (const line of SESSION_LINES) {
        expect(outside, `${board}: "${line}"`).to.not.include(line);
        expect(link, `${board}: "${line}"`).to.include(line);
      }
      expect(outside, board).to.not.include(MAINS_LINE);
      expect(link, board).to.not.include(MAINS_LINE);
      expect(mains, board).to.include(MAINS_LINE);
    }
  });

  it("only a board with a sound level meter lexes the day levels' (Lden) code: the bins' bundles leave it out", async () => {
    const METERS = ["dnms", "pcb-spl", "sen0232"];
    for (const board of boardNames()) {
      const meter = (await boardProfile(board)).devices.some((d) => METERS.includes(d.model));
      // the Lden formula (aggregate.ts lden): 12 h of day, 4 of evening + 5 dB, 8 of night + 10 dB
      const outside = lexedAtEveryWake(evaluatedStrings(board));
      expect(/12\*\w+\(\w+\)\+4\*\w+\(\w+\+5\)\+8\*\w+\(\w+\+10\)/.test(outside), board).to.equal(meter);
    }
  });

  it("a bundle names its commands' build by the image's hash: a config that passed other rules is checked again", () => {
    const hashes = new Set<string>();
    for (const board of ["esp32-bin-lp", "esp32-pole", "linux"]) {
      const evaluated = evaluatedStrings(board), outside = lexedAtEveryWake(evaluated);
      const commands = evaluated.find((e) => e.code.includes("__casanodeCommands"))!;
      const hash = createHash("sha256").update(tokenise(commands.code)).digest("hex").slice(0, 8);
      expect(outside, board).to.include(hash);
      hashes.add(hash);
    }
    // the same part in every bundle (built once, the boards' own code handed over)
    expect(hashes.size).to.equal(1);
  });

  it("only a board with a relay lexes the relay's cycle code: the others' bundles leave it out", async () => {
    // lines only the relay's cycle hooks print (firmware/streetlight/hook.ts)
    const HOOK_LINES = ["relay override expired", "lamp: stored state refused"];
    for (const board of boardNames()) {
      const relay = (await boardProfile(board)).devices.some((d) => d.model === "relay");
      const outside = lexedAtEveryWake(evaluatedStrings(board));
      for (const line of HOOK_LINES) expect(outside.includes(line), `${board}: "${line}"`).to.equal(relay);
    }
  });

  it("a board that sleeps through a warm-up carries the code that plans that wake and switches its latch off before every sleep; no other bundle does", async () => {
    for (const board of boardNames()) {
      const asleep = (await boardProfile(board)).devices.some((d) => d.sleepWarmingMs !== undefined);
      const image = lexedAtEveryWake(evaluatedStrings(board));
      // the prelude reads the plan; the bundle behind it writes it (firmware/runtime/warm-asleep.ts)
      const bundle = image.slice(image.indexOf("!function(){"));
      expect(bundle.includes('"cn.warm"'), board).to.equal(asleep);
    }
  });

  it("a build that a type error stops leaves no file watcher behind (the process can exit)", async () => {
    const before = watchers();
    expect(await failedBuild(oneShotTypeScript)).to.include("TS2322");
    expect(watchers()).to.equal(before);
  });
});
