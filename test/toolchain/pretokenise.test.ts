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
import { boardNames } from "../../toolchain/boards.mjs";

const bytes = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

describe("pretokenised images (toolchain/pretokenise.mjs)", () => {
  it("writes reserved words and operators as src/jslex.h's token bytes", () => {
    // LEX_R_IF 163, LEX_R_RETURN 171, LEX_TYPEEQUAL 139, LEX_R_FUNCTION 170, LEX_R_VAR 172
    expect(bytes(tokenise("if(a===b)return"))).to.deep.equal([163, 40, 97, 139, 98, 41, 171]);
    expect(tokenise("function f(){var x}")).to.equal("\xaaf(){\xacx}");
  });

  it("writes strings as raw strings (0xD1 len / 0xD2 lo hi); numbers stay text", () => {
    expect(bytes(tokenise('x="ab"'))).to.deep.equal([120, 61, 0xd1, 2, 97, 98]);
    const long = "y".repeat(300);
    expect(bytes(tokenise(`x="${long}"`)).slice(0, 5)).to.deep.equal([120, 61, 0xd2, 300 & 255, 300 >> 8]);
    expect(tokenise("x=0+5+1000+40000+1.5")).to.equal("x=0+5+1000+40000+1.5");
    // an empty string is shorter quoted; a character above 0xFF cannot be raw
    expect(tokenise('x=""+"\\u0100"')).to.equal('x=""+"\\u0100"');
  });

  it("writes no raw int: 2v29's Function.prototype.toString prints `void 0` as `void0` and -1 as 255 from them", () => {
    expect(tokenise("x=void 0;y=-1")).to.equal("x=\xc00;y=-1");
  });

  it("no bundle holds a raw int, nor a module inside it (the OTA selector is built from function text)", async function () {
    this.timeout(60_000);
    const rawInts = (code: string): number => {
      let n = 0;
      for (let i = 0; i < code.length; i++) {
        const c = code.charCodeAt(i);
        if (c === 0xd1 || c === 0xd2) {
          const len = code.charCodeAt(i + 1) | (c === 0xd2 ? code.charCodeAt(i + 2) << 8 : 0);
          const inside = code.substr(i + (c === 0xd2 ? 3 : 2), len);
          // a long raw string may be a module (the OTA code): its tokens count too
          if (len > 1000) n += rawInts(inside);
          i += (c === 0xd2 ? 2 : 1) + len;
        } else if (c >= 0xd3 && c <= 0xd5) n++;
      }
      return n;
    };
    for (const board of boardNames()) expect(rawInts(readFileSync(await ensureBundle(board), "latin1")), board).to.equal(0);
  });

  it("reads raw ints (0xD3, 0xD4 v, 0xD5 lo hi, signed) as Espruino's lexer does", () => {
    expect(untokenise("x=\xd3+\xd4\x05+\xd5\xe8\x03+\xd4\xff")).to.equal("x=0+5+1000+(-1)");
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
      const theirs = espruino.Plugins.Pretokenise!.tokenise(source);
      expect(isTokenised(theirs)).to.equal(true);
      expect(firstTokenDifference(source, untokenise(theirs))).to.equal("");
    } finally {
      g.acorn = saved.acorn;
      g.Espruino = saved.Espruino;
    }
  });
});
