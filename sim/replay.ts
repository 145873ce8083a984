// Replay a captured serial byte log into a node: a "device" that stands where the twin would,
// on the same UART and power pin, and plays the captured frames onto the wire, so a capture
// from a sensor in the street is fed to the firmware as it was seen.
//
// Capture files, one of (parseCapture):
//   hex       pairs of hex digits separated by spaces, newlines or commas, "0x" allowed,
//             comments from # or // to the end of the line
//   xxd       what `xxd file` prints (`xxd -p` is plain hex)
//   hexdump   what `hexdump -C file` prints, "*" (repeated lines) included
//   raw       the bytes as they are, only when asked for (--replay-raw)
// Anything else is refused with the line and column of the first thing that does not fit.
//
// Playback walks the capture frame by frame, in order, so successive reads see every frame:
// the capture is cut into units (one frame with the garbage before it) with the model's own
// parser, and a unit is handed out per read request (PMS5003 passive read, SDS011 query) or,
// for a part that talks by itself (A02YYUW, PMS5003 in active mode), per power-up: it repeats
// that unit at its frame rate while powered, as it would over a still surface. A part with no
// switched supply that talks by itself gets the units in turn at its frame rate. After the
// last unit the capture starts again (`wrapped`).

import type { SimDevice, SimDeviceContext, DeviceFaults } from "./devices/types.js";
import { noFaults } from "./devices/types.js";
import { takePmsCommands } from "./devices/pms5003.js";
import { takeSdsCommands } from "./devices/sds011.js";
import { parsePmsFrame, PMS_CMD_MODE, PMS_CMD_READ, PMS_FRAME_LEN, PMS_MAX_UGM3 } from "../drivers/pms5003.js";
import { parseSdsFrame, SDS_CMD_QUERY, SDS_FRAME_LEN, SDS_MAX_UGM3 } from "../drivers/sds011.js";
import { a02Frame, A02_BLIND_MM, A02_MAX_MM } from "../drivers/a02yyuw.js";
import { SimOptionError } from "./options.js";

/** a capture file larger than this is refused (a day of PMS5003 frames as hexdump -C is ~5 MB) */
export const MAX_CAPTURE_FILE_BYTES = 32 * 1024 * 1024;
/** from a read request to the captured frame on the wire (the twins answer in 20-700 ms) */
export const REPLAY_REPLY_MS = 20;
/** while the UART is not set up, check again this often, ms */
const IDLE_CHECK_MS = 500;

export class CaptureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CaptureFormatError";
  }
}

// ---------------------------------------------------------------------------------------------
// what to play where

export interface ReplaySpec {
  /** node id or board name; undefined = every node with the device */
  node?: string;
  /** device name (pm) or model (pms5003) */
  device: string;
  file: string;
  /** the file is the bytes themselves (--replay-raw), not hex text or a dump */
  raw?: boolean;
}

/** "<device>=<file>" or "<node>/<device>=<file>"; throws SimOptionError */
export function parseReplaySpec(text: string, raw = false): ReplaySpec {
  const opt = raw ? "--replay-raw" : "--replay";
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) throw new SimOptionError(`${opt}: bad "${text}": use <device>=<file> or <node>/<device>=<file>`);
  const target = text.slice(0, eq);
  const file = text.slice(eq + 1);
  const parts = target.split("/");
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z0-9._-]+$/.test(p))) throw new SimOptionError(`${opt}: bad target "${target}": use <device> or <node>/<device>`);
  const spec: ReplaySpec = parts.length === 2 ? { node: parts[0], device: parts[1], file } : { device: parts[0], file };
  if (raw) spec.raw = true;
  return spec;
}

// ---------------------------------------------------------------------------------------------
// capture files

const HEX_TOKEN = /^[0-9a-fA-F]+$/;

function hexPairs(token: string, out: number[]): void {
  for (let i = 0; i < token.length; i += 2) out.push(parseInt(token.slice(i, i + 2), 16));
}

function fail(line: number, col: number, why: string): never {
  throw new CaptureFormatError(`line ${line}, column ${col}: ${why}`);
}

/** a line that holds nothing: blank or a whole-line comment (allowed in every text format) */
function emptyLine(line: string): boolean {
  return /^\s*(#.*)?$/.test(line);
}

/** the tokens of `text` (split at `sep`) with their 1-based columns, `from` = column of text[0] */
function tokens(text: string, sep: RegExp, from: number): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const re = new RegExp(`[^${sep.source}]+`, "g");
  for (let m = re.exec(text); m; m = re.exec(text)) out.push([m[0], from + m.index]);
  return out;
}

function plainHex(lines: string[], out: number[]): void {
  lines.forEach((raw, i) => {
    const line = raw.replace(/(#|\/\/).*$/, "");
    for (const [tok, col] of tokens(line, /\s,/, 1)) {
      const digits = /^0x/i.test(tok) ? tok.slice(2) : tok;
      const at = col + tok.length - digits.length;
      const bad = digits.search(/[^0-9a-fA-F]/);
      if (bad >= 0) fail(i + 1, at + bad, `"${digits[bad]}" is not a hex digit (hex captures are pairs of hex digits; a binary capture needs --replay-raw)`);
      if (!digits.length) fail(i + 1, col, `"${tok}" has no digits`);
      if (digits.length % 2) fail(i + 1, at, `"${digits}" has an odd number of hex digits`);
      hexPairs(digits, out);
    }
  });
}

/** `xxd file`: "00000010: 4142 4344 ...  ABCD...": offset, groups of hex, two spaces, text */
function xxdDump(lines: string[], out: number[]): void {
  lines.forEach((line, i) => {
    if (emptyLine(line)) return;
    const m = /^([0-9a-fA-F]+): /.exec(line);
    if (!m) fail(i + 1, 1, 'expected an xxd line ("<offset>: <hex>  <text>")');
    checkOffset(parseInt(m[1], 16), out.length, i + 1);
    const start = m[0].length;
    const end = line.indexOf("  ", start);
    const area = line.slice(start, end < 0 ? line.length : end);
    for (const [tok, col] of tokens(area, / /, start + 1)) {
      if (!HEX_TOKEN.test(tok) || tok.length % 2) fail(i + 1, col, `"${tok}" is not a group of hex byte pairs`);
      hexPairs(tok, out);
    }
  });
}

/** `hexdump -C file`: "00000010  41 42 ... 48  49 ... |AB...|", "*" for repeats, the length last */
function hexdumpC(lines: string[], out: number[]): void {
  let last: number[] = [];
  let repeat = false;
  lines.forEach((line, i) => {
    if (emptyLine(line)) return;
    if (line.trim() === "*") {
      repeat = true;
      return;
    }
    const m = /^([0-9a-fA-F]{8})(?=\s|$)/.exec(line);
    if (!m) fail(i + 1, 1, 'expected a hexdump -C line ("<offset>  <hex bytes>  |<text>|")');
    const offset = parseInt(m[1], 16);
    if (repeat) {
      // "*": the line before repeats up to this offset
      if (offset > MAX_CAPTURE_FILE_BYTES) fail(i + 1, 1, `"*" repeats up to offset ${offset.toString(16)}, more bytes than a capture may have (${MAX_CAPTURE_FILE_BYTES})`);
      while (last.length && out.length + last.length <= offset) out.push(...last);
      repeat = false;
    }
    checkOffset(offset, out.length, i + 1);
    const bar = line.indexOf("|");
    const area = line.slice(8, bar < 0 ? line.length : bar);
    const bytes: number[] = [];
    for (const [tok, col] of tokens(area, / /, 9)) {
      if (!/^[0-9a-fA-F]{2}$/.test(tok)) fail(i + 1, col, `"${tok}" is not a hex byte`);
      hexPairs(tok, bytes);
    }
    if (bytes.length) last = bytes;
    out.push(...bytes);
  });
}

function checkOffset(offset: number, have: number, line: number): void {
  if (offset !== have) fail(line, 1, `offset ${offset.toString(16)} does not follow the ${have} bytes before it (a line missing or edited?)`);
}

/**
 * A capture file's bytes: raw as they are, else hex text, xxd or hexdump -C output (told
 * apart by the first line that is not blank or a # comment). Throws CaptureFormatError naming
 * the line and column of the first character that fits none.
 */
export function parseCapture(data: Uint8Array | string, opts: { raw?: boolean } = {}): Uint8Array {
  const buf = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let out: number[] | Uint8Array;
  if (opts.raw) out = new Uint8Array(buf);
  else {
    const text = buf.toString("latin1");
    const lines = text.split(/\r?\n/);
    lines.forEach((line, i) => {
      const bad = line.search(/[^\x09\x20-\x7e]/);
      if (bad >= 0) fail(i + 1, bad + 1, `byte 0x${line.charCodeAt(bad).toString(16).padStart(2, "0")} is not text: a binary capture needs --replay-raw`);
    });
    const first = lines.find((l) => !emptyLine(l)) ?? "";
    const bytes: number[] = [];
    if (/^[0-9a-fA-F]+: /.test(first)) xxdDump(lines, bytes);
    else if (/^[0-9a-fA-F]{8}  [0-9a-fA-F]{2} .*\|/.test(first)) hexdumpC(lines, bytes);
    else plainHex(lines, bytes);
    out = bytes;
  }
  if (!out.length) throw new CaptureFormatError("the capture holds no bytes");
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------
// frames

/** why a unit of the capture gives no reading */
export type Rejection = "checksum" | "range" | "garbage";

/** a stretch of the capture handed out at once: one frame and the garbage before it */
export interface CaptureUnit {
  bytes: Uint8Array;
  /** "frame": decodes to an in-range reading; otherwise why the driver refuses it */
  kind: "frame" | Exclude<Rejection, "garbage"> | "garbage";
  /** bytes before the frame that belong to none */
  garbage: number;
}

interface FrameCheck {
  len: number;
  ok: boolean;
  inRange: boolean;
}

/** How a model frames its data, and whether it answers requests or talks by itself. */
interface ReplayProtocol {
  /** the frame-shaped bytes starting at i (header and length right), or null */
  frameAt(b: Uint8Array, i: number): FrameCheck | null;
  /** frame interval when it talks by itself, ms */
  streamMs: number;
  /** it talks by itself from power-up (until a mode command says otherwise) */
  talksAtPowerUp: boolean;
  /** read requests (and mode changes) in what the MCU sent; absent: it never listens */
  listen?(rx: number[], bytes: Uint8Array, on: { request(): void; stream(on: boolean): void }): void;
}

const PROTOCOLS: { [model: string]: ReplayProtocol } = {
  pms5003: {
    frameAt(b, i) {
      if (b[i] !== 0x42 || b[i + 1] !== 0x4d || b[i + 2] !== 0x00 || b[i + 3] !== 0x1c || i + PMS_FRAME_LEN > b.length) return null;
      const f = parsePmsFrame(b, i);
      return { len: PMS_FRAME_LEN, ok: !!f, inRange: !!f && Math.max(f.pm1, f.pm25, f.pm10) <= PMS_MAX_UGM3 };
    },
    streamMs: 2300, // active mode, stable air (datasheet)
    talksAtPowerUp: true, // until the driver sets passive mode
    listen(rx, bytes, on) {
      takePmsCommands(rx, bytes, (cmd, data) => {
        if (cmd === PMS_CMD_READ) on.request();
        else if (cmd === PMS_CMD_MODE) on.stream(data === 1);
      });
    },
  },
  sds011: {
    frameAt(b, i) {
      if (b[i] !== 0xaa || b[i + 1] !== 0xc0 || i + SDS_FRAME_LEN > b.length || b[i + 9] !== 0xab) return null;
      const f = parseSdsFrame(b, i);
      return { len: SDS_FRAME_LEN, ok: !!f, inRange: !!f && Math.max(f.pm25, f.pm10) <= SDS_MAX_UGM3 };
    },
    streamMs: 1000,
    talksAtPowerUp: false, // the driver queries whatever the part's stored mode
    // the driver queries in either reporting mode, so a query is the read request
    listen(rx, bytes, on) {
      takeSdsCommands(rx, bytes, (cmd) => {
        if (cmd[2] === SDS_CMD_QUERY) on.request();
      });
    },
  },
  a02yyuw: {
    frameAt(b, i) {
      if (b[i] !== 0xff || i + 4 > b.length) return null;
      const d = b[i + 1] * 256 + b[i + 2];
      const ok = a02Frame(d)[3] === b[i + 3];
      return { len: 4, ok, inRange: ok && d > A02_BLIND_MM && d <= A02_MAX_MM };
    },
    streamMs: 200, // processed mode: a frame every 100-300 ms
    talksAtPowerUp: true,
  },
};

/** models a capture can be replayed into */
export const REPLAY_MODELS = Object.keys(PROTOCOLS);

/**
 * Cut a capture into units with the model's framing, as its driver would read it: a
 * frame-shaped stretch that fails its checksum is a rejected frame unless a good frame starts
 * inside it (then it was a false start, i.e. garbage: the driver rescans from the next byte).
 */
export function splitCapture(model: string, b: Uint8Array): CaptureUnit[] {
  const p = PROTOCOLS[model];
  if (!p) throw new Error(`no replay framing for model "${model}" (replay plays into ${REPLAY_MODELS.join(", ")})`);
  const units: CaptureUnit[] = [];
  let from = 0;
  let i = 0;
  const goodAt = (j: number) => p.frameAt(b, j)?.ok === true;
  while (i < b.length) {
    const f = p.frameAt(b, i);
    let real = !!f;
    if (f && !f.ok) for (let j = i + 1; j < i + f.len && real; j++) if (goodAt(j)) real = false;
    if (!f || !real) {
      i++;
      continue;
    }
    units.push({ bytes: b.subarray(from, i + f.len), kind: !f.ok ? "checksum" : f.inRange ? "frame" : "range", garbage: i - from });
    i += f.len;
    from = i;
  }
  if (from < b.length) units.push({ bytes: b.subarray(from), kind: "garbage", garbage: b.length - from });
  return units;
}

// ---------------------------------------------------------------------------------------------
// the device

/** what a replay did, for the summary */
export interface ReplayStats {
  /** units in the capture (frames, rejected frames, and trailing garbage) */
  units: number;
  /** of those, frames that decode to an in-range reading */
  frames: number;
  /** units handed to the MCU so far */
  consumed: number;
  /** handed out and decoding to a reading */
  decoded: number;
  /** handed out and refused, by why (garbage: chunks of bytes that are no frame) */
  rejected: { [why in Rejection]: number };
  /** the capture ran out and started again */
  wrapped: boolean;
}

/** "rejected 1 checksum, 2 garbage" */
export function describeRejected(s: ReplayStats): string {
  const parts = (Object.keys(s.rejected) as Rejection[]).filter((k) => s.rejected[k]).map((k) => `${s.rejected[k]} ${k}`);
  return parts.length ? "rejected " + parts.join(", ") : "none rejected";
}

export class ReplayDevice implements SimDevice {
  readonly model: string;
  readonly faults: DeviceFaults = noFaults();
  /** bytes put on the wire so far */
  bytesSent = 0;
  readonly units: CaptureUnit[];
  private readonly proto: ReplayProtocol;
  private next = 0;
  private stats: ReplayStats;
  private timer: number | undefined;
  private powered = false;
  /** talking by itself (A02YYUW; PMS5003 in active mode) rather than answering reads */
  private streaming: boolean;
  /** the unit repeated during this power-up (streaming parts with a switched supply) */
  private current: CaptureUnit | undefined;
  private rx: number[] = [];

  constructor(private ctx: SimDeviceContext, bytes: Uint8Array) {
    const spec = ctx.spec;
    if (!ctx.uart || spec.bus.kind !== "serial") throw new Error(`${spec.name}: replay needs a serial device`);
    if (!bytes.length) throw new Error(`${spec.name}: the capture is empty`);
    this.proto = PROTOCOLS[spec.model];
    this.units = splitCapture(spec.model, bytes);
    this.model = spec.model;
    this.streaming = this.proto.talksAtPowerUp;
    const frames = this.units.filter((u) => u.kind === "frame").length;
    this.stats = { units: this.units.length, frames, consumed: 0, decoded: 0, rejected: { checksum: 0, range: 0, garbage: 0 }, wrapped: false };
    ctx.uart.attach({
      receive: (b) => {
        this.check();
        if (!this.powered || this.faults.unplugged || !this.proto.listen) return;
        this.proto.listen(this.rx, b, {
          request: () => {
            if (!this.streaming) this.ctx.clock.setTimeout(() => this.send(this.take()), REPLAY_REPLY_MS + this.faults.slowMs);
          },
          stream: (on) => {
            this.streaming = on;
            this.restart();
          },
        });
      },
    });
    const power = spec.power;
    if (power) ctx.pins.onChange(power.pin, () => this.check());
    this.check();
  }

  replayStats(): ReplayStats {
    return { ...this.stats, rejected: { ...this.stats.rejected } };
  }

  currentMa(): number {
    return this.powered && !this.faults.unplugged ? this.ctx.spec.currentMa.on : 0;
  }

  active(): boolean {
    return this.powered && !this.faults.unplugged;
  }

  private supplied(): boolean {
    const p = this.ctx.spec.power;
    if (!p) return true;
    return this.ctx.pins.driven(p.pin) && this.ctx.pins.level(p.pin) === p.activeHigh;
  }

  private check(): void {
    const on = this.supplied();
    if (on === this.powered) return;
    this.powered = on;
    this.rx = [];
    this.streaming = this.proto.talksAtPowerUp;
    this.current = undefined;
    this.restart();
  }

  /** the next unit, counted as handed out */
  private take(): CaptureUnit {
    const u = this.units[this.next];
    this.next++;
    if (this.next >= this.units.length) {
      this.next = 0;
      this.stats.wrapped = true;
    }
    const s = this.stats;
    s.consumed++;
    if (u.kind === "frame") s.decoded++;
    else if (u.kind !== "garbage") s.rejected[u.kind]++;
    if (u.garbage) s.rejected.garbage++;
    return u;
  }

  private restart(): void {
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.powered && this.streaming) this.tick(this.proto.streamMs);
  }

  private tick(ms: number, waitingForUart = false): void {
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.powered || !this.streaming) return;
      // the UART just came up: the next frame is a stream period away, not on the idle-check
      // grid, so whether it beats the driver's first command does not hang on that grid's phase
      if (waitingForUart && this.ctx.uart!.baud) return this.tick(this.proto.streamMs + this.faults.slowMs);
      if (this.ctx.uart!.baud && !this.faults.unplugged) {
        // with a switched supply each power-up is one reading: repeat its unit; else walk on
        if (this.ctx.spec.power) this.send((this.current ??= this.take()));
        else this.send(this.take());
        this.tick(this.proto.streamMs + this.faults.slowMs);
      } else this.tick(IDLE_CHECK_MS, true);
    }, ms);
  }

  private send(u: CaptureUnit): void {
    if (!this.powered || this.faults.unplugged) return;
    this.ctx.uart!.deviceSend(u.bytes);
    this.bytesSent += u.bytes.length;
  }
}

export function createReplayDevice(ctx: SimDeviceContext, bytes: Uint8Array): ReplayDevice {
  return new ReplayDevice(ctx, bytes);
}
