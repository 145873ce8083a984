import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../../toolchain/root.mjs";
import { BoardListError, boardNames, defaultFleetBoards, readBoardList } from "../../toolchain/boards.mjs";

/** rollup.config.mjs evaluated afresh (its default export is what `rollup -c` bundles) */
async function rollupInputs(): Promise<string[]> {
  const mod = (await import(pathToFileURL(path.join(ROOT, "rollup.config.mjs")).href + "?fresh=" + Math.random())) as { default: Array<{ input: string }> };
  return mod.default.map((c) => c.input);
}

describe("the board list (boards/boards.json, toolchain/boards.mjs)", () => {
  it("a helper .ts dropped into boards/ becomes no board: rollup does not bundle it, the list does not name it", async () => {
    const helper = path.join(ROOT, "boards", "zz-probe-helper.ts");
    writeFileSync(helper, "export const helper = 1;\n");
    try {
      expect(await rollupInputs()).to.not.include("boards/zz-probe-helper.ts");
      expect(boardNames()).to.not.include("zz-probe-helper");
    } finally {
      rmSync(helper, { force: true });
    }
  });

  it("rollup bundles exactly the listed boards, the fleet runs all but linux (as before the list)", async () => {
    const listed = ["esp32-air", "esp32-bin", "esp32-bin-lp", "esp32-bin-sr04", "esp32-noise", "esp32-pole", "linux"];
    expect(boardNames()).to.deep.equal(listed);
    expect(await rollupInputs()).to.deep.equal(listed.map((b) => `boards/${b}.ts`));
    expect(defaultFleetBoards()).to.deep.equal(listed.filter((b) => b !== "linux"));
  });

  describe("checks (in a scratch repo)", () => {
    let root: string;
    const write = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    const list = (boards: unknown) => write("boards/boards.json", JSON.stringify({ boards }));
    beforeEach(() => {
      root = mkdtempSync(path.join(os.tmpdir(), "casanode-boards-"));
      for (const b of ["street", "bench"]) {
        write(`boards/${b}.ts`, "");
        write(`boards/profiles/${b}.ts`, "export const profile = {};\n");
      }
      write("boards/helper.ts", "");
      write("boards/profiles/helper.ts", "export const profile = {};\n"); // even a profile-shaped helper
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it("names only the listed boards, in the list's order; the default fleet only those marked", () => {
      list([
        { name: "street", defaultFleet: true },
        { name: "bench", defaultFleet: false, note: "not deployed" },
      ]);
      expect(boardNames(root)).to.deep.equal(["street", "bench"]);
      expect(defaultFleetBoards(root)).to.deep.equal(["street"]);
    });

    it("a listed board missing its profile is an error naming the file", () => {
      rmSync(path.join(root, "boards/profiles/bench.ts"));
      list([{ name: "street", defaultFleet: true }, { name: "bench", defaultFleet: false }]);
      expect(() => readBoardList(root)).to.throw(BoardListError, "lists board bench, but its profile boards/profiles/bench.ts does not exist");
    });

    it("a listed board missing its build entry is an error naming the file", () => {
      rmSync(path.join(root, "boards/street.ts"));
      list([{ name: "street", defaultFleet: true }]);
      expect(() => boardNames(root)).to.throw(BoardListError, "its build entry boards/street.ts does not exist");
    });

    const bad: Array<[string, () => void, string]> = [
      ["no list file", () => {}, "cannot read the board list boards/boards.json"],
      ["not JSON", () => write("boards/boards.json", "{ boards: [ }"), "boards/boards.json is not JSON"],
      ["no boards", () => list([]), "has no boards"],
      ["a bare name", () => list(["street"]), "boards[0] is not an object"],
      ["a path as name", () => list([{ name: "../street", defaultFleet: true }]), 'has name "../street"'],
      ["a typo in a field", () => list([{ name: "street", defaultFlet: true }]), "unknown field defaultFlet"],
      ["a board twice", () => list([{ name: "street", defaultFleet: true }, { name: "street", defaultFleet: true }]), "lists board street twice"],
      ["defaultFleet missing", () => list([{ name: "street" }]), 'board street needs "defaultFleet": true or false'],
    ];
    for (const [what, make, message] of bad) {
      it(`refuses ${what} with a clear error`, () => {
        make();
        expect(() => readBoardList(root)).to.throw(BoardListError, message);
      });
    }
  });
});
