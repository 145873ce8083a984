// Espruino's Storage module over simulated NOR flash, after src/jsflash.c and
// src/jswrap_storage.c of Espruino 2v29 (behaviour checked on the real interpreter):
// - files are appended one after another (32-byte header + data padded to 4 bytes); replacing
//   or erasing a file only marks its header deleted, so getFree() shrinks until compact();
// - write(name, data, offset, size) creates a file of `size` bytes filled with 0xFF and writes
//   data at offset; later writes at an offset may only fill bytes that are still 0xFF;
// - names are 28 bytes: longer names are silently cut to 28 (as Espruino does);
// - open() StorageFiles live in chunks "name\x01", "name\x02"... of one page each; 0xFF ends them.
// It belongs to the node, not to a boot: it survives deep sleep and power cuts. A power cut that
// lands inside a write tears it (armTear): flash keeps exactly what was programmed before the cut.

import { liberalJson, storageJson } from "./json.js";

export const STORAGE_HEADER_BYTES = 32;
export const STORAGE_NAME_MAX = 28;
/** ESP32 builds since 2v26: 224 pages of 4 KB */
export const ESP32_STORAGE_BYTES = 896 * 1024;
/** Espruino's Linux build fakes 256 KB of flash */
export const LINUX_STORAGE_BYTES = 256 * 1024;
export const FLASH_PAGE_BYTES = 4096;
const ALIGN = 4;
const FLAGS_NONE = 0;
const FLAGS_STORAGEFILE = 64; // JSFF_STORAGEFILE
const STORAGEFILE_READ_BUF = 32; // the C code reads 32 bytes at a time: it shapes readLine/read results

export interface SimStorageOptions {
  /** flash bytes for Storage (ESP32 2v26+: 896 KB) */
  sizeBytes?: number;
  pageBytes?: number;
  /** throw instead of silently cutting names longer than 28 chars (Espruino cuts them) */
  strictNames?: boolean;
  /** printed when Espruino would print (compaction) */
  print?: (text: string) => void;
}

interface FileEntry {
  /** the 28-byte name without trailing NULs */
  name: string;
  flags: number;
  size: number;
  data: Uint8Array;
  deleted: boolean;
  /** latin1 text of data, cached until the next write */
  text?: string;
  /** data is an image other nodes were flashed with too: copied before it is written */
  shared?: boolean;
}

/** the text of each shared image, once for every node flashed with it */
const sharedText = new WeakMap<Uint8Array, string>();

interface FlashOp {
  /** bytes of flash this step programs (where a cut can land) */
  bytes: number;
  /** do it; `partial` = only that many bytes were programmed before the cut */
  run(partial?: number): void;
}

interface TearArm {
  rng: () => number;
  onTear: () => void;
}

export interface StorageStats {
  totalBytes: number;
  freeBytes: number;
  fileBytes: number;
  fileCount: number;
  trashBytes: number;
  trashCount: number;
}

/** a StorageModule error with Espruino's message; the emulation rethrows it in the node's realm */
export class StorageError extends Error {
  constructor(message: string, readonly errorName: "Error" | "SyntaxError" | "TypeError" = "Error") {
    super(message);
    this.name = errorName;
  }
}

/** thrown by a torn write when no tear handler ended the node */
export class PowerLostError extends Error {
  constructor() {
    super("power lost during a flash write");
  }
}

/** a char that is not one byte: names are looked up often, and almost never have one */
const WIDE_CHAR = /[^\x00-\xff]/;

export function toLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

export function fromLatin1(s: string): Uint8Array {
  // written straight into a plain Uint8Array of its own (not a pooled Buffer): one copy, not two
  const out = new Uint8Array(s.length);
  Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(s, 0, s.length, "latin1");
  return out;
}

function align(n: number): number {
  return (n + ALIGN - 1) & ~(ALIGN - 1);
}

function footprint(size: number): number {
  return STORAGE_HEADER_BYTES + align(size);
}

function isByteSource(v: any): boolean {
  return Array.isArray(v) || ArrayBuffer.isView(v) || Object.prototype.toString.call(v) === "[object ArrayBuffer]";
}

function bytesOf(v: any): Uint8Array {
  if (typeof v === "string") return fromLatin1(v);
  if (typeof v === "number" || typeof v === "boolean") return Uint8Array.of(Number(v) & 0xff);
  if (Object.prototype.toString.call(v) === "[object ArrayBuffer]") return new Uint8Array(v.slice(0));
  if (ArrayBuffer.isView(v)) {
    if (v instanceof Uint8Array || Object.prototype.toString.call(v) === "[object Uint8Array]") return Uint8Array.from(v as Uint8Array);
    return Uint8Array.from(Array.prototype.map.call(v, (x: number) => x & 0xff) as number[]);
  }
  if (Array.isArray(v)) return Uint8Array.from(v, (x) => Number(x) & 0xff);
  if (v === null) throw new StorageError("Expecting Number or iterable, got null");
  throw new StorageError("Can't get pointer to data to write");
}

export class SimStorage implements StorageModule {
  readonly totalBytes: number;
  readonly pageBytes: number;
  /** flash bytes programmed since provisioning (headers, data, deletion marks, compaction copies) */
  bytesWritten = 0;
  /** flash pages erased (by compaction) */
  pagesErased = 0;
  compactions = 0;
  tornWrites = 0;
  /** counts every change to the flash: what is read from it is the same while this is */
  changes = 0;
  /** names Espruino cut to 28 chars (a firmware bug worth knowing about) */
  readonly truncatedNames: string[] = [];
  print: (text: string) => void;
  private log: FileEntry[] = [];
  private live = new Map<string, FileEntry>();
  private used = 0;
  private tear: TearArm | undefined;
  private strictNames: boolean;

  constructor(opts: SimStorageOptions = {}) {
    this.totalBytes = opts.sizeBytes ?? ESP32_STORAGE_BYTES;
    this.pageBytes = opts.pageBytes ?? FLASH_PAGE_BYTES;
    this.strictNames = !!opts.strictNames;
    this.print = opts.print ?? (() => {});
  }

  // ---- power-cut hooks ----
  /** the next flash write is cut part-way: what was programmed stays, then onTear() (the node dies) */
  armTear(rng: () => number, onTear: () => void): void {
    this.tear = { rng, onTear };
  }

  disarmTear(): void {
    this.tear = undefined;
  }

  get tearArmed(): boolean {
    return this.tear !== undefined;
  }

  // ---- StorageModule ----
  read(name: string, offset?: number, length?: number): string | undefined {
    const f = this.find(this.fileName(name));
    if (!f) return undefined;
    let off = Math.trunc(Number(offset) || 0);
    let len = Math.trunc(Number(length) || 0);
    if (off < 0) off = 0;
    if (len <= 0) len = f.size;
    if (off > f.size) off = f.size;
    if (off + len > f.size) len = f.size - off;
    if (len <= 0) return "";
    if (off === 0 && len === f.size) return this.text(f);
    return toLatin1(f.data.subarray(off, off + len));
  }

  readJSON(name: string, noExceptions?: boolean): any {
    const text = this.read(name);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(liberalJson(text));
    } catch (e) {
      if (noExceptions) return undefined;
      throw new StorageError((e as Error).message, "SyntaxError");
    }
  }

  readArrayBuffer(name: string): ArrayBuffer | undefined {
    const f = this.find(this.fileName(name));
    if (!f) return undefined;
    return f.data.slice().buffer;
  }

  write(name: string, data: string | Uint8Array | any, offset?: number, size?: number): boolean {
    let off = Math.trunc(Number(offset) || 0);
    let sz = Math.trunc(Number(size) || 0);
    let bytes: Uint8Array;
    if (data !== null && typeof data === "object" && !isByteSource(data)) {
      bytes = fromLatin1(JSON.stringify(data) ?? "");
      off = 0;
      sz = 0;
    } else {
      bytes = bytesOf(data);
    }
    return this.writeFile(this.fileName(name), bytes, FLAGS_NONE, off, sz);
  }

  /**
   * Flash a file as a programmer does before the node runs, with bytes shared by every node
   * flashed with the same image (a 75 KB bundle per node was half of a large fleet's memory
   * at start). Flash is accounted as for write(); the first write over the file copies it.
   */
  flashShared(name: string, bytes: Uint8Array): void {
    const file = this.fileName(name);
    this.writeFile(file, bytes, FLAGS_NONE, 0, bytes.length);
    const f = this.find(file)!;
    f.data = bytes;
    f.shared = true;
    f.text = undefined;
  }

  writeJSON(name: string, data: any): boolean {
    return this.writeFile(this.fileName(name), fromLatin1(storageJson(data)), FLAGS_NONE, 0, 0);
  }

  erase(name: string): void {
    const f = this.find(this.fileName(name));
    if (f) this.exec([this.killOp(f)]);
  }

  eraseAll(): void {
    this.changes++;
    this.log = [];
    this.live.clear();
    this.used = 0;
    this.pagesErased += Math.ceil(this.totalBytes / this.pageBytes);
  }

  list(regex?: RegExp, filter?: { sf?: boolean }): string[] {
    const out: string[] = [];
    const sf = filter && typeof filter === "object" ? filter.sf : undefined;
    for (const f of this.log) {
      if (f.deleted) continue;
      const isSf = (f.flags & FLAGS_STORAGEFILE) !== 0;
      if (sf === false && isSf) continue;
      if (sf === true && !isSf) continue;
      let shown = f.name;
      if (isSf) {
        if (!shown.endsWith("\x01")) continue; // only the first chunk stands for the file
        if (sf === true) shown = shown.slice(0, -1);
      }
      if (regex && !shown.match(regex)) continue;
      out.push(shown);
    }
    return out;
  }

  compact(): void {
    this.changes++;
    this.print("Compacting...\n");
    const before = this.used;
    this.log = this.log.filter((f) => !f.deleted);
    this.used = 0;
    for (const f of this.log) this.used += footprint(f.size);
    this.bytesWritten += this.used; // live files are copied back
    this.pagesErased += Math.ceil(before / this.pageBytes);
    this.compactions++;
  }

  getFree(): number {
    return this.totalBytes - this.used;
  }

  /** the last getStats(), until the flash changes: firmware asks before every save, and the walk is over every file ever written since the last compaction */
  private stats: { changes: number; value: StorageStats } | undefined;

  getStats(): StorageStats {
    if (this.stats?.changes === this.changes) return { ...this.stats.value };
    let fileBytes = 0, fileCount = 0, trashBytes = 0, trashCount = 0;
    for (const f of this.log) {
      if (f.deleted) {
        trashBytes += footprint(f.size);
        trashCount++;
      } else {
        fileBytes += footprint(f.size);
        fileCount++;
      }
    }
    const value = { totalBytes: this.totalBytes, freeBytes: this.getFree(), fileBytes, fileCount, trashBytes, trashCount };
    this.stats = { changes: this.changes, value };
    return { ...value };
  }

  open(name: string, mode: "r" | "w" | "a"): SimStorageFile {
    if (mode !== "r" && mode !== "w" && mode !== "a") throw new StorageError(`Invalid mode ${JSON.stringify(mode)}`);
    return new SimStorageFile(this, name, mode);
  }

  /** Storage files' raw bytes (tests, diagnostics) */
  peek(name: string): Uint8Array | undefined {
    return this.find(this.fileName(name))?.data.slice();
  }

  // ---- internals shared with StorageFile ----
  /** Espruino's 28-byte file name: cut to 28 chars, NUL padding ignored */
  fileName(name: any, max = STORAGE_NAME_MAX): string {
    let s = String(name);
    if (WIDE_CHAR.test(s)) s = toLatin1(fromLatin1(s)); // Espruino keeps the low byte of each char
    const nul = s.indexOf("\0");
    if (nul >= 0) s = s.slice(0, nul);
    if (s.length > max) {
      if (this.strictNames) throw new StorageError(`File name too long (${s.length} > ${max} chars): ${JSON.stringify(s)}`);
      if (this.truncatedNames.length < 100 && !this.truncatedNames.includes(s)) this.truncatedNames.push(s);
      s = s.slice(0, max);
    }
    return s;
  }

  find(name: string): FileEntry | undefined {
    return this.live.get(name);
  }

  text(f: FileEntry): string {
    if (f.text === undefined && f.shared) {
      f.text = sharedText.get(f.data);
      if (f.text === undefined) sharedText.set(f.data, (f.text = toLatin1(f.data)));
    }
    return (f.text ??= toLatin1(f.data));
  }

  /** jsfWriteFile: create/replace (offset 0) or fill in place (offset > 0) */
  writeFile(name: string, bytes: Uint8Array, flags: number, offset: number, size: number): boolean {
    if (offset < 0 || size < 0) return false;
    if (size === 0) size = bytes.length;
    if (!size) throw new StorageError("Can't create zero length file");
    let f = this.find(name);
    const ops: FlashOp[] = [];
    const target: { f: FileEntry | undefined } = { f };
    if ((!f && offset === 0) || (f && offset === 0 && (flags !== f.flags || size !== f.size || !isErased(f.data, 0, f.size)))) {
      if (f && size === f.size && flags === f.flags && bytes.length === size && equalBytes(f.data, bytes)) return true; // same: no flash touched
      if (f) ops.push(this.killOp(f));
      if (!this.makeRoom(footprint(size), f)) {
        this.exec(ops); // the old copy was already cleared when Espruino finds no room
        throw new StorageError("Unable to find or create file");
      }
      ops.push({
        bytes: STORAGE_HEADER_BYTES,
        run: (partial) => {
          if (partial !== undefined) return;
          target.f = this.append(name, flags, size);
        },
      });
      f = undefined;
    } else if (!f) {
      throw new StorageError("Unable to find or create file");
    }
    const fileSize = f ? f.size : size;
    if (offset + bytes.length > fileSize) {
      this.exec(ops); // Espruino creates the file before it checks the length
      throw new StorageError("Too much data for file size");
    }
    if (f && !isErased(f.data, offset, bytes.length)) throw new StorageError("File already written with different data");
    ops.push(this.programOp(target, offset, bytes));
    this.exec(ops);
    return true;
  }

  programOp(target: { f: FileEntry | undefined }, offset: number, bytes: Uint8Array): FlashOp {
    return {
      bytes: bytes.length,
      run: (partial) => {
        const f = target.f;
        if (!f) return;
        const n = partial === undefined ? bytes.length : partial;
        if (f.shared) {
          f.data = f.data.slice();
          f.shared = false;
        }
        for (let i = 0; i < n; i++) f.data[offset + i] &= bytes[i]; // NOR flash only clears bits
        f.text = undefined;
        this.bytesWritten += n;
      },
    };
  }

  killOp(f: FileEntry): FlashOp {
    return {
      bytes: 4,
      run: (partial) => {
        if (f.deleted) return;
        if (partial !== undefined && partial < 2) return; // cut before the header was cleared
        f.deleted = true;
        if (this.live.get(f.name) === f) this.live.delete(f.name);
        this.bytesWritten += 4;
      },
    };
  }

  /** run flash steps; if a tear is armed, stop part-way at a random byte and end the node */
  exec(ops: FlashOp[]): void {
    this.changes++;
    const tear = this.tear;
    if (!tear || !ops.length) {
      for (const op of ops) op.run();
      return;
    }
    this.tear = undefined;
    const total = ops.reduce((s, op) => s + op.bytes, 0);
    let cut = Math.floor(tear.rng() * total);
    for (const op of ops) {
      if (cut >= op.bytes) {
        op.run();
        cut -= op.bytes;
      } else {
        op.run(cut);
        break;
      }
    }
    this.tornWrites++;
    tear.onTear();
    throw new PowerLostError();
  }

  private append(name: string, flags: number, size: number): FileEntry {
    const f: FileEntry = { name, flags, size, data: new Uint8Array(size).fill(0xff), deleted: name.length === 0 };
    this.log.push(f);
    if (!f.deleted) this.live.set(name, f); // an empty name has firstChars == 0: Espruino sees a deleted file
    this.used += footprint(size);
    this.bytesWritten += STORAGE_HEADER_BYTES;
    return f;
  }

  /** is there space for `need` bytes, compacting first if that would make enough? */
  private makeRoom(need: number, replacing?: FileEntry): boolean {
    if (this.used + need <= this.totalBytes) return true;
    // jsfCreateFile compacts only when requiredSize < free + trash ("better to fail fast"), where
    // it counts trash by the files' data sizes, without headers or padding (measured on 2v29)
    let trash = 0;
    for (const f of this.log) if (f.deleted || f === replacing) trash += f.size;
    if (need >= this.totalBytes - this.used + trash) return false;
    if (replacing) {
      this.changes++;
      // Espruino marks the old copy deleted before creating the new one, so compaction frees it
      replacing.deleted = true;
      this.live.delete(replacing.name);
      this.bytesWritten += 4;
    }
    this.compact();
    return this.used + need <= this.totalBytes;
  }
}

function isErased(data: Uint8Array, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) if (data[i] !== 0xff) return false;
  return true;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * require("Storage").open(): an append-only file stored as numbered chunks of one flash page
 * (4064 data bytes on ESP32). Port of jswrap_storagefile_* in src/jswrap_storage.c.
 */
export class SimStorageFile implements StorageFileLike {
  /** the name as given, cut to 28 chars (Espruino's StorageFile.name) */
  readonly name: string;
  chunk = 1;
  offset = 0;
  mode: "r" | "w" | "a" | 0;
  private readonly base: string;

  constructor(private storage: SimStorage, name: string, mode: "r" | "w" | "a") {
    // Espruino keeps the first 28 chars as the name and puts the chunk number in the 28th
    this.name = toLatin1(fromLatin1(String(name))).split("\0")[0].slice(0, STORAGE_NAME_MAX);
    this.base = storage.fileName(name, STORAGE_NAME_MAX - 1);
    this.mode = mode;
    if (mode === "w" && storage.find(this.chunkName(1))) this.eraseChunks();
    if (mode === "a") {
      let f = storage.find(this.chunkName(this.chunk));
      // skip full chunks (their last byte is not 0xFF)
      while (f && f.data[f.size - 1] !== 0xff && this.chunk < 255) {
        this.chunk++;
        f = storage.find(this.chunkName(this.chunk));
      }
      if (f) {
        let end = f.data.indexOf(0xff);
        if (end < 0) end = f.size;
        this.offset = end;
      }
    }
  }

  get chunkBytes(): number {
    return Math.min(this.storage.pageBytes, 4096) - STORAGE_HEADER_BYTES;
  }

  read(len?: number): string | undefined {
    let n = Math.trunc(Number(len) || 0);
    if (n < 0) n = 0;
    return this.readInternal(n);
  }

  readLine(): string | undefined {
    return this.readInternal(-1);
  }

  write(data: string): void {
    if (this.mode !== "w" && this.mode !== "a") throw new StorageError("Can't write in this mode");
    const bytes = fromLatin1(String(data));
    if (!bytes.length) return;
    const s = this.storage;
    const f = s.find(this.chunkName(this.chunk));
    if (!f) {
      try {
        s.writeFile(this.chunkName(this.chunk), bytes, FLAGS_STORAGEFILE, 0, this.chunkBytes);
        this.offset = bytes.length;
      } catch (e) {
        if (e instanceof StorageError) this.mode = 0; // no more writing, as Espruino
        throw e;
      }
      return;
    }
    const remaining = f.size - this.offset;
    if (bytes.length < remaining) {
      const target = { f: f as any };
      const at = this.offset;
      this.offset += bytes.length;
      s.exec([s.programOp(target, at, bytes)]);
      return;
    }
    const first = bytes.subarray(0, remaining);
    const rest = bytes.subarray(remaining);
    const at = this.offset;
    this.offset += remaining;
    s.exec([s.programOp({ f: f as any }, at, first)]);
    if (this.chunk === 255) throw new StorageError("File too big!");
    this.chunk++;
    try {
      s.writeFile(this.chunkName(this.chunk), rest, FLAGS_STORAGEFILE, 0, this.chunkBytes);
      this.offset = rest.length;
    } catch (e) {
      if (e instanceof StorageError) this.mode = 0;
      throw e;
    }
  }

  erase(): void {
    this.eraseChunks();
    this.chunk = 1;
    this.offset = 0;
    this.mode = 0;
  }

  getLength(): number {
    const s = this.storage;
    let chunk = 1;
    let length = 0;
    let f = s.find(this.chunkName(chunk));
    while (f && f.data[f.size - 1] !== 0xff && chunk < 255) {
      length += f.size;
      chunk++;
      f = s.find(this.chunkName(chunk));
    }
    if (f) {
      const end = f.data.indexOf(0xff);
      length += end < 0 ? f.size : end;
    }
    return length;
  }

  private chunkName(chunk: number): string {
    return this.base + String.fromCharCode(chunk);
  }

  private eraseChunks(): void {
    const s = this.storage;
    for (let chunk = 1; chunk < 256; chunk++) {
      const f = s.find(this.chunkName(chunk));
      if (!f) break;
      s.exec([s.killOp(f)]);
    }
  }

  private readInternal(lenIn: number): string | undefined {
    let isReadLine = lenIn < 0;
    if (this.mode !== "r") throw new StorageError("Can't read in this mode");
    const s = this.storage;
    let chunk = this.chunk;
    let f = s.find(this.chunkName(chunk));
    if (!f) return undefined;
    let fileLen = f.size;
    let offset = this.offset;
    let result: string | undefined;
    let len = isReadLine ? STORAGEFILE_READ_BUF : lenIn;
    while (len) {
      let remaining = fileLen - offset;
      if (remaining <= 0) {
        offset = 0;
        if (chunk === 255) f = undefined;
        else {
          chunk++;
          f = s.find(this.chunkName(chunk));
          fileLen = f ? f.size : 0;
        }
        this.offset = offset;
        this.chunk = chunk;
        remaining = fileLen;
        if (!f) return result;
      }
      let l = Math.min(len, STORAGEFILE_READ_BUF, remaining);
      const data = f!.data;
      for (let i = 0; i < l; i++) {
        const b = data[offset + i];
        if (b === 0xff) {
          l = i;
          len = l;
          break;
        }
        if (isReadLine && b === 10) {
          l = i + 1;
          len = l;
          isReadLine = false;
          break;
        }
      }
      if (!l) break;
      result = (result ?? "") + toLatin1(data.subarray(offset, offset + l));
      len -= l;
      offset += l;
      if (isReadLine) len = STORAGEFILE_READ_BUF;
    }
    this.offset = offset;
    return result;
  }
}

