// The pretokenised image: byte fixtures from Espruino's src/jslex.h (2v29), round trips, and a
// cross-check against the Espruino IDE's own tokeniser (the espruino CLI's plugin).
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";
import * as acorn from "acorn";
import { tokenise, untokenise, isTokenised, firstTokenDifference } from "../../toolchain/pretokenise.mjs";
import { ensureBundle } from "../../toolchain/bundle.js";
import { ROOT } from "../../toolchain/root.mjs";

const bytes = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

describe("pretokenised images (toolchain/pretokenise.mjs)", () => {
  it("writes reserved words and operators as src/jslex.h's token bytes", () => {
    // LEX_R_IF 163, LEX_R_RETURN 171, LEX_TYPEEQUAL 139, LEX_R_FUNCTION 170, LEX_R_VAR 172
    expect(bytes(tokenise("if(a===b)return"))).to.deep.equal([163, 40, 97, 139, 98, 41, 171]);
    expect(tokenise("function f(){var x}")).to.equal("\xaaf(){\xacx}");
  });

  it("writes strings as raw strings (0xD1 len / 0xD2 lo hi) and small integers as raw ints", () => {
    expect(bytes(tokenise('x="ab"'))).to.deep.equal([120, 61, 0xd1, 2, 97, 98]);
    const long = "y".repeat(300);
    expect(bytes(tokenise(`x="${long}"`)).slice(0, 5)).to.deep.equal([120, 61, 0xd2, 300 & 255, 300 >> 8]);
    expect(bytes(tokenise("x=0"))).to.deep.equal([120, 61, 0xd3]);
    expect(bytes(tokenise("x=5"))).to.deep.equal([120, 61, 0xd4, 5]);
    expect(bytes(tokenise("x=1000"))).to.deep.equal([120, 61, 0xd5, 0xe8, 0x03]);
    // out of a raw int's range, or not an integer: as written
    expect(tokenise("x=40000+1.5")).to.equal("x=40000+1.5");
    // an empty string is shorter quoted; a character above 0xFF cannot be raw
    expect(tokenise('x=""+"\\u0100"')).to.equal('x=""+"\\u0100"');
  });

  it("leaves a negative number as `-` and a raw int: toString prints a negative raw int8 as its byte (2v29)", () => {
    expect(bytes(tokenise("x=-1"))).to.deep.equal([120, 61, 45, 0xd4, 1]);
  });

  it("keeps what separates two pieces of text, line breaks, and `catch` as text (espruino/Espruino#1868)", () => {
    expect(tokenise("a- -b")).to.equal("a- -b");
    expect(tokenise("a+ +b")).to.equal("a+ +b");
    expect(tokenise("a\nb")).to.equal("a\nb");
    expect(tokenise("try{}catch(e){}")).to.equal("\xb1{}catch(e){}");
    expect(untokenise(tokenise("x in y"))).to.equal("x in y");
    expect(untokenise(tokenise("return a"))).to.equal("return a");
  });

  it("plain ASCII source is not tokenised and reads back unchanged", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)) }), (s) => {
        expect(isTokenised(s)).to.equal(false);
        expect(untokenise(s)).to.equal(s);
      }),
    );
  });

  it("any latin1 string literal and any integer read back as the same value", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 600 }), fc.integer({ min: 0, max: 1 << 20 }), (s, n) => {
        const src = `x=${JSON.stringify(s)};y=${n};`;
        const back = untokenise(tokenise(src));
        const ctx: { x?: string; y?: number } = {};
        vm.runInNewContext(back, ctx);
        expect(ctx.x).to.equal(s);
        expect(ctx.y).to.equal(n);
      }),
    );
  });

  it("reading garbage bytes never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(untokenise(Buffer.from(b).toString("latin1"))).to.be.a("string");
      }),
    );
  });

  // its raw ints fold `-1` into one token, read back as (-1): those are left to the fixtures above
  it("reads the Espruino IDE's pretokenised bundle (the espruino CLI's plugin: words, operators, raw strings) as the bundle", async function () {
    this.timeout(60_000);
    const g = globalThis as { acorn?: unknown; Espruino?: unknown };
    const saved = { acorn: g.acorn, Espruino: g.Espruino };
    type Plugin = { tokenise(code: string): string };
    const espruino = { Plugins: {} as { Pretokenise?: Plugin }, Config: { PRETOKENISE: 1 }, Core: { Env: { getBoardData: () => ({ VERSION: "2v24" }) }, Utils: {} } };
    try {
      g.acorn = acorn;
      g.Espruino = espruino;
      vm.runInThisContext(readFileSync(path.join(ROOT, "node_modules", "espruino", "plugins", "pretokenise.js"), "utf8"));
      const source = untokenise(readFileSync(await ensureBundle("esp32-bin"), "latin1"));
      expect(isTokenised(source)).to.equal(false);
      const theirs = espruino.Plugins.Pretokenise!.tokenise(source);
      expect(isTokenised(theirs)).to.equal(true);
      expect(firstTokenDifference(source, untokenise(theirs))).to.equal("");
    } finally {
      g.acorn = saved.acorn;
      g.Espruino = saved.Espruino;
    }
  });
});
