// SimStorage against Espruino's Storage module. Expected values marked "measured" come from
// running the same calls on Espruino 2v29 (Linux build, 256 KB of flash).

import { expect } from "chai";
import fc from "fast-check";
import { SimStorage, LINUX_STORAGE_BYTES, PowerLostError, STORAGE_HEADER_BYTES } from "../../../sim/espruino/storage.js";

const FF = (n: number) => "\xff".repeat(n);
const linux = () => new SimStorage({ sizeBytes: LINUX_STORAGE_BYTES });
const fixed = (r: number) => () => r;

describe("SimStorage (Espruino's Storage module)", () => {
  it("shares a factory-flashed image between nodes until one of them writes over it", () => {
    const image = new Uint8Array(Buffer.from("(function(){print('hi')})", "latin1"));
    const a = new SimStorage();
    const b = new SimStorage();
    a.flashShared(".bootcde", image);
    b.flashShared(".bootcde", image);
    // the same bytes, flash accounted as for a write of them
    expect(a.read(".bootcde")).to.equal("(function(){print('hi')})");
    expect(a.getFree()).to.equal(b.getFree());
    const plain = new SimStorage();
    plain.write(".bootcde", "(function(){print('hi')})");
    expect(a.getFree()).to.equal(plain.getFree());
    // one node's write (NOR: only clears bits) must not reach the other, nor the image
    a.write(".bootcde", "(function(){print('hi')})"); // same bytes: nothing touched
    a.erase(".bootcde");
    a.write(".bootcde", "x", 0, 4);
    expect(b.read(".bootcde")).to.equal("(function(){print('hi')})");
    expect(Buffer.from(image).toString("latin1")).to.equal("(function(){print('hi')})");
    const erasedTail = Uint8Array.of(0xff, 0xff, 0x41);
    const c = new SimStorage();
    const d = new SimStorage();
    c.flashShared("f", erasedTail);
    d.flashShared("f", erasedTail);
    c.write("f", "B", 1); // fills an erased byte in place: c's copy only
    expect([...new Uint8Array(c.readArrayBuffer("f")!)]).to.deep.equal([0xff, 0x42, 0x41]);
    expect([...new Uint8Array(d.readArrayBuffer("f")!)]).to.deep.equal([0xff, 0xff, 0x41]);
    expect([...erasedTail]).to.deep.equal([0xff, 0xff, 0x41]);
  });

  it("creates a file of the given size and fills it at offsets (measured)", () => {
    const s = linux();
    expect(s.write("a", "Hello", 0, 14)).to.equal(true);
    expect(s.read("a")).to.equal("Hello" + FF(9));
    s.write("a", " ", 5);
    s.write("a", "World!!!", 6);
    expect(s.read("a")).to.equal("Hello World!!!");
    s.write("a", " ", 0); // offset 0 rewrites the file
    expect(s.read("a")).to.equal(" ");
  });

  it("refuses what Espruino refuses, with its messages (measured)", () => {
    const s = linux();
    expect(() => s.write("b", "Hello", 3)).to.throw("Unable to find or create file");
    s.write("c", "Hello", 0, 5);
    expect(s.write("c", "Hello", 0)).to.equal(true); // same bytes: nothing to do
    expect(() => s.write("c", "X", 2)).to.throw("File already written with different data");
    s.write("d", "Hel", 0, 5);
    expect(() => s.write("d", "XYZ", 2)).to.throw("File already written with different data");
    expect(() => s.write("e", "")).to.throw("Can't create zero length file");
    expect(() => s.write("w", "toolong", 0, 3)).to.throw("Too much data for file size");
    expect(() => s.write("u1", undefined)).to.throw("Can't get pointer to data to write");
    expect(() => s.write("u2", null)).to.throw("Expecting Number or iterable, got null");
    expect(s.write("ab", "x", -1)).to.equal(false);
  });

  it("accounts flash like Espruino: headers, padding, trash, compaction (measured)", () => {
    const s = linux();
    s.write("abcdefghijklmnopqrstuvwxyz0123", "x"); // cut to 28 chars
    s.write("abcdefghijklmnopqrstuvwxyz01", "y"); // the same file: replaced
    s.write("a", "Hello", 0, 14);
    s.write("a", " ", 0);
    s.write("c", "Hello", 0, 5);
    s.write("d", "Hel", 0, 5);
    expect(s.list()).to.deep.equal(["abcdefghijklmnopqrstuvwxyz01", "a", "c", "d"]);
    expect(s.getFree()).to.equal(261908);
    expect(s.getStats()).to.deep.equal({ totalBytes: 262144, freeBytes: 261908, fileBytes: 152, fileCount: 4, trashBytes: 84, trashCount: 2 });
    s.write("f", "0123456789");
    expect(s.getFree()).to.equal(261864);
    s.write("f", "01234567890");
    expect(s.getFree()).to.equal(261820);
    expect(s.getStats()).to.include({ fileBytes: 196, fileCount: 5, trashBytes: 128, trashCount: 3 });
    s.compact();
    expect(s.getFree()).to.equal(261948);
    expect(s.getStats()).to.include({ trashBytes: 0, trashCount: 0, fileCount: 5 });
    expect(s.read("f")).to.equal("01234567890");
    expect(s.truncatedNames).to.deep.equal(["abcdefghijklmnopqrstuvwxyz0123"]);
  });

  it("converts data as Espruino does: objects to JSON, numbers to one byte, arrays to bytes (measured)", () => {
    const s = linux();
    s.write("j", { a: 1 });
    expect(s.read("j")).to.equal('{"a":1}');
    s.write("n", 12345);
    expect(s.read("n")).to.equal("9");
    s.write("arr", [1, 2, 3]);
    expect(s.read("arr")).to.equal("\x01\x02\x03");
    s.write("u8", new Uint8Array([65, 66, 67]));
    expect(s.read("u8")).to.equal("ABC");
    s.write(12 as any, "x");
    s.write("", "x"); // an empty name looks like a deleted file
    expect(s.list()).to.deep.equal(["j", "n", "arr", "u8", "12"]);
  });

  it("reads ranges, JSON and ArrayBuffers (measured)", () => {
    const s = linux();
    s.write("w", "abd");
    expect(s.read("w", 1, 5)).to.equal("bd");
    expect(s.read("w", 5)).to.equal("");
    expect(s.read("w", -1)).to.equal("abd");
    expect(s.read("nofile")).to.equal(undefined);
    expect(s.readJSON("nofile")).to.equal(undefined);
    expect(s.readArrayBuffer("nofile")).to.equal(undefined);
    expect([...new Uint8Array(s.readArrayBuffer("w")!)]).to.deep.equal([97, 98, 100]);
    s.writeJSON("k", { a: "x", b: [1, 2], c: undefined });
    expect(s.read("k")).to.equal('{a:"x",b:[1,2]}');
    expect(s.readJSON("k")).to.deep.equal({ a: "x", b: [1, 2] });
    expect(() => JSON.parse(s.read("k")!)).to.throw(SyntaxError); // as on Espruino: only readJSON reads it back
    s.write("bad", "{x");
    expect(() => s.readJSON("bad")).to.throw();
    expect(s.readJSON("bad", true)).to.equal(undefined);
    s.write("sp", "a", 0, 100); // trailing 0xFF is not JSON either
    expect(s.readJSON("sp", true)).to.equal(undefined);
  });

  it("erases, lists with a regex and the StorageFile filter (measured)", () => {
    const s = linux();
    s.write("x.js", "1");
    s.write("y.json", "2");
    const f = s.open("log", "a");
    f.write("line1\n");
    expect(s.list()).to.deep.equal(["x.js", "y.json", "log\x01"]);
    expect(s.list(/\.js$/)).to.deep.equal(["x.js"]);
    expect(s.list(undefined, { sf: false })).to.deep.equal(["x.js", "y.json"]);
    expect(s.list(undefined, { sf: true })).to.deep.equal(["log"]);
    s.erase("x.js");
    s.erase("nothing");
    expect(s.list(undefined, { sf: false })).to.deep.equal(["y.json"]);
  });

  describe("StorageFile (open)", () => {
    it("appends across opens and reads back by lines and lengths (measured)", () => {
      const s = linux();
      let f = s.open("log", "a");
      f.write("line1\n");
      f.write("line2\n");
      f = s.open("log", "a");
      f.write("line3\n");
      f = s.open("log", "r");
      expect([f.readLine(), f.read(3), f.readLine(), f.readLine(), f.readLine()]).to.deep.equal(["line1\n", "lin", "e2\n", "line3\n", undefined]);
      expect(s.open("log", "r").getLength()).to.equal(18);
      expect(() => s.open("log", "r").write("x")).to.throw("Can't write in this mode");
      expect(() => s.open("log", "x" as any)).to.throw('Invalid mode "x"');
      expect(s.open("zz", "r").read(5)).to.equal(undefined);
      expect(s.open("zz", "r").getLength()).to.equal(0);
    });

    it("keeps 27 chars of the name for chunks and 28 as its name (measured)", () => {
      const s = linux();
      const f = s.open("abcdefghijklmnopqrstuvwxyz0123456789", "w");
      f.write("hi");
      expect(s.list(undefined, { sf: true })).to.deep.equal(["abcdefghijklmnopqrstuvwxyz0"]);
      expect(f.name).to.equal("abcdefghijklmnopqrstuvwxyz01");
    });

    it("spills into numbered chunks of one page and reads through them", () => {
      const s = new SimStorage();
      const f = s.open("big", "w");
      const chunk = f.chunkBytes; // 4064 on ESP32
      expect(chunk).to.equal(4096 - STORAGE_HEADER_BYTES);
      const line = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"; // 64 bytes
      for (let i = 0; i < 200; i++) f.write(line);
      expect(s.list(/big/)).to.deep.equal(["big\x01"]);
      expect(s.list(/big/, { sf: true })).to.deep.equal(["big"]);
      expect(s.peek("big\x03")).to.not.equal(undefined);
      expect(s.open("big", "r").getLength()).to.equal(200 * 64);
      const r = s.open("big", "r");
      let n = 0;
      let l: string | undefined;
      while ((l = r.readLine()) !== undefined) {
        expect(l).to.equal(line);
        n++;
      }
      expect(n).to.equal(200);
      const a = s.open("big", "a");
      a.write("tail\n");
      expect(s.open("big", "r").getLength()).to.equal(200 * 64 + 5);
      s.open("big", "r").erase();
      expect(s.list(/big/)).to.deep.equal([]);
    });

    it("refuses a first write longer than a chunk, as Espruino does (measured)", () => {
      const s = new SimStorage();
      const f = s.open("lg", "w");
      expect(() => f.write("x".repeat(4800))).to.throw("Too much data for file size");
      expect(() => f.write("y")).to.throw("Can't write in this mode");
    });

    it("stops reading at 0xFF (erased flash ends a StorageFile)", () => {
      const s = new SimStorage();
      const f = s.open("ff", "w");
      f.write("ab\xffcd");
      expect(s.open("ff", "r").read(10)).to.equal("ab");
    });
  });

  it("cuts long names like Espruino, or refuses them in strict mode", () => {
    const loose = new SimStorage();
    loose.write("a".repeat(30), "1");
    expect(loose.list()).to.deep.equal(["a".repeat(28)]);
    expect(loose.read("a".repeat(29))).to.equal("1"); // same 28 chars: same file
    const strict = new SimStorage({ strictNames: true });
    expect(() => strict.write("a".repeat(29), "1")).to.throw(/File name too long/);
    expect(() => strict.write("a".repeat(28), "1")).to.not.throw();
  });

  it("keeps the low byte of each char of a name, as Espruino's strings do", () => {
    const s = new SimStorage();
    s.write("\u0141og", "wide"); // U+0141: low byte 0x41, "A"
    expect(s.list()).to.deep.equal(["Aog"]);
    expect(s.read("Aog")).to.equal("wide");
    expect(s.read("\u0241og")).to.equal("wide");
    s.write("caf\u00e9\u0000x", "1"); // one-byte chars stay, NUL ends the name
    expect(s.read("caf\u00e9")).to.equal("1");
  });

  it("compacts by itself when a new file needs the trash's space, and fails when it cannot fit", () => {
    const printed: string[] = [];
    const s = new SimStorage({ sizeBytes: 1024, print: (t) => printed.push(t) });
    for (let i = 0; i < 20; i++) s.write("f", "x".repeat(60 + i)); // each replace leaves ~100 bytes of trash
    expect(s.compactions).to.be.greaterThan(0);
    expect(printed).to.include("Compacting...\n");
    expect(s.read("f")).to.equal("x".repeat(79));
    expect(() => s.write("huge", "x".repeat(1000))).to.throw("Unable to find or create file");
  });

  it("on a full flash compacts only if the file then fits, counting trash without headers, and a failed replace loses the file (measured)", () => {
    const s = linux();
    s.write("a", "x".repeat(200));
    s.write("b", "x".repeat(200));
    s.erase("a");
    s.write("f", "y".repeat(s.getFree() - 32 - 560 - 32));
    expect(s.getStats()).to.deep.equal({ totalBytes: 262144, freeBytes: 592, fileBytes: 261320, fileCount: 2, trashBytes: 232, trashCount: 1 });
    // jsfCreateFile: requiredSize < free + trash, trash being a's 200 data bytes: 792
    expect(() => s.write("c", "x".repeat(760))).to.throw("Unable to find or create file");
    expect(() => s.write("c", "x".repeat(757))).to.throw("Unable to find or create file"); // 760 padded
    expect(s.compactions).to.equal(0);
    s.write("c", "x".repeat(756));
    expect(s.compactions).to.equal(1);
    expect(s.getStats()).to.deep.equal({ totalBytes: 262144, freeBytes: 36, fileBytes: 262108, fileCount: 3, trashBytes: 0, trashCount: 0 });
    // jsfWriteFile erases the old copy before it looks for room
    expect(() => s.write("b", "z".repeat(300))).to.throw("Unable to find or create file");
    expect(s.read("b")).to.equal(undefined);
    expect(s.getStats()).to.deep.equal({ totalBytes: 262144, freeBytes: 36, fileBytes: 261876, fileCount: 2, trashBytes: 232, trashCount: 1 });
    expect(s.list()).to.deep.equal(["f", "c"]);
  });

  it("counts programmed bytes for flash wear", () => {
    const s = new SimStorage();
    s.write("a", "12345678");
    expect(s.bytesWritten).to.equal(STORAGE_HEADER_BYTES + 8);
    s.write("a", "12345678"); // unchanged: no flash touched
    expect(s.bytesWritten).to.equal(STORAGE_HEADER_BYTES + 8);
    s.write("a", "abcdefgh"); // old header cleared (4 bytes), new header, data
    expect(s.bytesWritten).to.equal(2 * (STORAGE_HEADER_BYTES + 8) + 4);
  });

  describe("torn writes (power cut inside a write)", () => {
    it("leaves the header and the bytes programmed before the cut; the rest stays 0xFF", () => {
      const s = new SimStorage();
      let died = 0;
      // cut after the 32-byte header and 5 data bytes of 10
      s.armTear(fixed((STORAGE_HEADER_BYTES + 5 + 0.5) / (STORAGE_HEADER_BYTES + 10)), () => died++);
      expect(() => s.write("state", "0123456789")).to.throw(PowerLostError);
      expect(died).to.equal(1);
      expect(s.tornWrites).to.equal(1);
      expect(s.read("state")).to.equal("01234" + FF(5));
      expect(s.tearArmed).to.equal(false);
      s.write("other", "ok"); // the next write is whole again
      expect(s.read("other")).to.equal("ok");
    });

    it("a replace cut early keeps the old file; cut between headers loses it", () => {
      const early = new SimStorage();
      early.write("cfg", "old");
      early.armTear(fixed(0), () => {});
      expect(() => early.write("cfg", "new!")).to.throw();
      expect(early.read("cfg")).to.equal("old");
      const mid = new SimStorage();
      mid.write("cfg", "old");
      mid.armTear(fixed(10 / (4 + STORAGE_HEADER_BYTES + 4)), () => {});
      expect(() => mid.write("cfg", "new!")).to.throw();
      expect(mid.read("cfg")).to.equal(undefined);
    });

    it("the tear handler ends the node: its exception is what the writer sees", () => {
      const s = new SimStorage();
      const halt = new Error("halt");
      s.armTear(fixed(0.9), () => {
        throw halt;
      });
      expect(() => s.write("x", "abc")).to.throw(halt);
    });

    it("whatever the cut point, a file is old, gone, or a prefix of the new one padded with 0xFF", () => {
      fc.assert(
        fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 40 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (oldText, newText, r) => {
          const s = new SimStorage();
          const oldBytes = Buffer.from(oldText, "utf8").toString("latin1");
          const newBytes = Buffer.from(newText, "utf8").toString("latin1");
          s.write("f", oldBytes);
          s.armTear(fixed(r), () => {});
          try {
            s.write("f", newBytes);
          } catch (e) {
            if (!(e instanceof PowerLostError)) throw e;
          }
          const got = s.read("f");
          if (got === undefined || got === oldBytes) return true;
          expect(got.length).to.equal(newBytes.length);
          const k = got.indexOf("\xff") < 0 ? got.length : got.indexOf("\xff");
          expect(got.slice(0, k)).to.equal(newBytes.slice(0, k));
          return true;
        }),
        { numRuns: 300 },
      );
    });
  });

  it("behaves like a map of files with free space = total - used, through random writes, erases and compactions", () => {
    type Op = { kind: "write"; name: string; len: number } | { kind: "erase"; name: string } | { kind: "compact" };
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("write" as const), name: fc.constantFrom("a", "b", "c", "d"), len: fc.integer({ min: 1, max: 300 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("erase" as const), name: fc.constantFrom("a", "b", "c", "d") }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("compact" as const) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops: Op[]) => {
        const s = new SimStorage({ sizeBytes: 2048 });
        const model = new Map<string, string>();
        let n = 0;
        for (const o of ops) {
          if (o.kind === "write") {
            const text = String.fromCharCode(65 + (n++ % 26)).repeat(o.len);
            try {
              s.write(o.name, text);
              model.set(o.name, text);
            } catch (e) {
              expect((e as Error).message).to.equal("Unable to find or create file");
              model.delete(o.name); // Espruino clears the old header before it finds no room
            }
          } else if (o.kind === "erase") {
            s.erase(o.name);
            model.delete(o.name);
          } else s.compact();
          for (const name of ["a", "b", "c", "d"]) expect(s.read(name)).to.equal(model.get(name));
          expect([...s.list()].sort()).to.deep.equal([...model.keys()].sort());
          const st = s.getStats();
          expect(st.freeBytes).to.equal(2048 - st.fileBytes - st.trashBytes);
          expect(st.freeBytes).to.be.at.least(0);
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });
});
