// `casanode provision`: check a node's config with the firmware's own validator, write it to
// the Storage file the node reads at boot, prove the copy, restart the node. A node gets its
// own HMAC key for commands unless the config brings one; the key is shown once (or written to
// --keys-out) for the back office.

import { randomBytes } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { BoardProfile } from "../firmware/board.js";
import { CONFIG_FILE, DEV_KEY_HEX } from "../firmware/config.js";
import { validateConfig } from "../firmware/config-check.js";
import { boardNames } from "../toolchain/boards.mjs";
import { ROOT } from "../toolchain/root.mjs";
import { hex, readNodeInfo, restartAndCheck, stopFirmware, writeStorageFile, type NodeInfo } from "./flash.js";
import { FieldError } from "../toolchain/field-error.js";
import { openLink, type ConsoleLink, type OpenOptions } from "./console-link.js";
import { relockConsole, Repl } from "./repl.js";
import { consoleReporter, type Reporter } from "./reporter.js";
import { crc32 } from "../sim/espruino/crc32.js";

export interface ProvisionOptions {
  /** the node's console; not needed for a dry run that names --board */
  port?: string;
  /** JSON file with the node's config (fields of firmware/config.ts NodeConfig) */
  config: string;
  node?: string;
  site?: string;
  /** board profile name; default: what the node's firmware reports */
  board?: string;
  dryRun?: boolean;
  password?: string;
  /** append generated keys here (JSON lines) instead of printing them */
  keysOut?: string;
  promptTimeoutMs?: number;
  bootTimeoutMs?: number;
  link?: OpenOptions;
  reporter?: Reporter;
}

export interface ProvisionResult {
  board: string;
  site: string;
  node: string;
  bytes: number;
  crc: number;
  /** the generated key, when the config had none */
  keyHex?: string;
  /** the generated console password, when the config had none */
  consolePassword?: string;
  written: boolean;
  bootLine?: string;
}

/** Read and parse a JSON file; the error names the line and column of a syntax mistake. */
export function loadJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FieldError(`config file ${file} not found`);
    if (code === "EISDIR") throw new FieldError(`${file} is a directory, not a config file`);
    throw new FieldError(`cannot read ${file}: ${(err as Error).message}`);
  }
  text = text.replace(/^\uFEFF/, ""); // a BOM from Windows editors
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's messages give no position for many mistakes: find it ourselves
    const found = locateJsonError(text) ?? { offset: text.length, reason: (err as Error).message };
    const { line, column } = lineColumn(text, found.offset);
    throw new FieldError(`${file}:${line}:${column}: invalid JSON: ${found.reason}`);
  }
}

/** Where and why text is not JSON (the mistakes people make by hand named), or undefined if it is. */
export function locateJsonError(text: string): { offset: number; reason: string } | undefined {
  let i = 0;
  class Stop {
    constructor(
      readonly offset: number,
      readonly reason: string,
    ) {}
  }
  const fail = (reason: string, at = i): never => {
    throw new Stop(at, reason);
  };
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const what = (ch: string | undefined) => (ch === undefined ? "end of file" : JSON.stringify(ch));
  const string = () => {
    const start = i++;
    for (;;) {
      const ch = text[i];
      if (ch === undefined) fail("unterminated string", start);
      if (ch === '"') return void i++;
      if (ch === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("bad \\u escape in string");
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail(`bad escape \\${e ?? ""} in string`);
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) fail("line break or control character inside a string");
      i++;
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === "{") return object();
    if (ch === "[") return array();
    if (ch === '"') return string();
    if (ch === "'") fail("strings need double quotes");
    if (ch === "/") fail("comments are not allowed in JSON");
    if (ch === "-" || (ch !== undefined && ch >= "0" && ch <= "9")) {
      const m = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
      m.lastIndex = i;
      if (!m.exec(text)) fail("bad number");
      i = m.lastIndex;
      return;
    }
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    fail(ch === undefined ? "unexpected end of file: a value is missing" : `unexpected ${what(ch)}: expected a value`);
  };
  const object = () => {
    i++;
    ws();
    if (text[i] === "}") return void i++;
    for (;;) {
      ws();
      if (text[i] !== '"') {
        if (text[i] === "}") fail("trailing comma before }");
        if (text[i] === "/") fail("comments are not allowed in JSON");
        fail(/[A-Za-z_']/.test(text[i] ?? "") ? "property names need double quotes" : `unexpected ${what(text[i])}: expected a property name`);
      }
      string();
      ws();
      if (text[i] !== ":") fail("expected ':' after a property name");
      i++;
      value();
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") return void i++;
      fail(text[i] === '"' ? "missing comma between properties" : `unexpected ${what(text[i])}: expected ',' or '}'`);
    }
  };
  const array = () => {
    i++;
    ws();
    if (text[i] === "]") return void i++;
    for (;;) {
      ws();
      if (text[i] === "]") fail("trailing comma before ]");
      value();
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "]") return void i++;
      fail(`unexpected ${what(text[i])}: expected ',' or ']'`);
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail("unexpected text after the end of the JSON value");
    return undefined;
  } catch (err) {
    if (err instanceof Stop) return { offset: err.offset, reason: err.reason };
    throw err;
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split("\n");
  return { line: lines.length, column: lines[lines.length - 1].replace(/\r$/, "").length + 1 };
}

export async function loadProfile(board: string): Promise<BoardProfile> {
  const names = boardNames();
  if (!names.includes(board)) throw new FieldError(`unknown board ${board}; boards: ${names.join(", ")}`, 2);
  const mod = (await import(pathToFileURL(path.join(ROOT, "boards", "profiles", board + ".ts")).href)) as { profile?: BoardProfile };
  if (!mod.profile) throw new FieldError(`boards/profiles/${board}.ts exports no profile`);
  return mod.profile;
}

/** A fresh per-node command key: 32 random bytes as hex. */
export function newKeyHex(): string {
  return randomBytes(32).toString("hex");
}

/** No 0/O, 1/l/I: a crew may have to type it from a printout. 55 symbols, 16 of them: 92 bits. */
const PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
export const GENERATED_PASSWORD_CHARS = 16;

/** A fresh console password (E.setPassword takes at most 20 chars), unbiased: bytes past the last whole alphabet are redrawn. */
export function newConsolePassword(): string {
  const n = PASSWORD_ALPHABET.length;
  const limit = 256 - (256 % n);
  let out = "";
  while (out.length < GENERATED_PASSWORD_CHARS) {
    for (const b of randomBytes(32)) {
      if (b < limit && out.length < GENERATED_PASSWORD_CHARS) out += PASSWORD_ALPHABET[b % n];
    }
  }
  return out;
}

/** A field a real node must be given: the embedded defaults are the simulator's Wi-Fi and broker. */
const REQUIRED = ["site", "node", "wifi.ssid", "wifi.password", "broker.host"];

function field(raw: { [key: string]: unknown }, path: string): unknown {
  const [a, b] = path.split(".");
  const v = raw[a];
  if (b === undefined) return v;
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as { [key: string]: unknown })[b] : undefined;
}

export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const out = options.reporter ?? consoleReporter();
  const loaded = loadJsonFile(options.config);
  if (loaded === null || typeof loaded !== "object" || Array.isArray(loaded)) {
    throw new FieldError(`${options.config}: a config is a JSON object ({ "site": ..., "node": ..., ... })`);
  }
  const raw = { ...(loaded as { [key: string]: unknown }) };
  if (options.node !== undefined) raw.node = options.node;
  if (options.site !== undefined) raw.site = options.site;
  // the embedded defaults ("sim", "<board>-00") would make every node provisioned alike
  const missing = ["site", "node"].filter((k) => raw[k] === undefined);
  if (missing.length) {
    throw new FieldError(`${options.config} names no ${missing.join(" and no ")}: give ${missing.map((k) => `--${k} <id>`).join(" and ")} or put ${missing.map((k) => `"${k}"`).join(" and ")} in the file`, 2);
  }
  // and the embedded Wi-Fi and broker are the simulator's: a node would join "casanode-sim"
  const absent = REQUIRED.filter((k) => field(raw, k) === undefined);
  if (absent.length) {
    throw new FieldError(`${options.config} has no ${absent.join(", ")}: a real node needs its own Wi-Fi and broker ({"wifi": {"ssid": ..., "password": ...}, "broker": {"host": ...}}; "password": "" for an open network)`, 2);
  }
  if (raw.keyHex === DEV_KEY_HEX) throw new FieldError(`${options.config}: keyHex is the development key; remove it and a key for this node is generated`);

  let link: ConsoleLink | undefined;
  let repl: Repl | undefined;
  /** what the console is locked with: the old config's until the new one is written */
  let password = options.password;
  let reached = false;
  try {
    let board = options.board;
    if (!options.dryRun || !board) {
      if (!options.port) throw new FieldError("no port given: use --port /dev/ttyUSB0 (a dry run with --board needs none)", 2);
      link = await openLink(options.port, options.link);
      // the firmware is reset before writing anyway: a Ctrl-C for a stuck console does no harm
      repl = new Repl(link, { password: options.password, promptTimeoutMs: options.promptTimeoutMs, interrupt: true });
      await repl.attach();
      reached = true;
      board = boardFromNode(await readNodeInfo(repl), board, link.name);
    }
    const profile = await loadProfile(board!);

    const generated = raw.keyHex === undefined ? newKeyHex() : undefined;
    if (generated) raw.keyHex = generated;
    // an unlocked console hands anyone the Wi-Fi password and the key
    const newPassword = raw.consolePassword === undefined ? newConsolePassword() : undefined;
    if (newPassword) raw.consolePassword = newPassword;
    const checked = validateConfig(raw, profile);
    if (!checked.ok) {
      throw new FieldError(
        `${options.config} is not a valid config for ${board} (${checked.errors.length} problem${checked.errors.length > 1 ? "s" : ""}); nothing was written:\n  ` + checked.errors.join("\n  "),
      );
    }
    const text = Buffer.from(JSON.stringify(raw), "utf8");
    const result: ProvisionResult = { board: board!, site: checked.config.site, node: checked.config.node, bytes: text.length, crc: crc32(text), written: false };
    out.line(`config ${options.config}: valid for ${board}; node ${result.node} at site ${result.site}, ${text.length} bytes`);
    const made = [generated ? "HMAC key" : "", newPassword ? "console password" : ""].filter(Boolean).join(" and ");
    if (options.dryRun || !repl || !link) {
      out.line(`dry run: would write ${CONFIG_FILE}${made ? ` with a newly generated ${made}` : ""} and restart the node`);
      return result;
    }

    if (made && options.keysOut) {
      // before the node gets them: a key or password the back office never saw locks it out
      const record: { [k: string]: string | undefined } = { site: result.site, node: result.node, board, keyHex: generated, consolePassword: newPassword, at: new Date().toISOString() };
      try {
        appendFileSync(options.keysOut, JSON.stringify(record) + "\n", { mode: 0o600 });
      } catch (err) {
        throw new FieldError(`cannot write the node's key to ${options.keysOut} (${(err as Error).message}); nothing was written to the node`);
      }
    }
    await stopFirmware(repl);
    await writeStorageFile(repl, CONFIG_FILE, text);
    const back = await repl.eval<{ node?: unknown; site?: unknown } | null>(
      `(function(c){return c?{node:c.node,site:c.site}:null})(require("Storage").readJSON(${JSON.stringify(CONFIG_FILE)},true))`,
    );
    if (!back || back.node !== result.node || back.site !== result.site) {
      throw new FieldError(`the node does not read back ${CONFIG_FILE} as written (got ${JSON.stringify(back)}); provision it again`);
    }
    result.written = true;
    out.line(`written and verified: ${CONFIG_FILE}, ${text.length} bytes, CRC-32 ${hex(result.crc)}`);
    if (generated) result.keyHex = generated;
    if (newPassword) result.consolePassword = newPassword;
    if (made && options.keysOut) out.line(`${made} for ${result.site}/${result.node} appended to ${options.keysOut}`);
    else {
      if (generated) out.line(`HMAC key for ${result.site}/${result.node} (give it to the back office; it is not shown again): ${generated}`);
      if (newPassword) out.line(`console password for ${result.site}/${result.node} (keep it with the key; it is not shown again): ${newPassword}`);
    }
    // the new config's console password locks the console from this boot on
    password = raw.consolePassword as string;
    const check = await restartAndCheck(repl, { bootTimeoutMs: options.bootTimeoutMs, password }, out);
    result.bootLine = check.bootLine;
    const d = check.report!; // the password is known here
    if (d.configErrors?.length) {
      throw new FieldError(`the node refused ${CONFIG_FILE} at boot and runs on its console only:\n  ` + d.configErrors.join("\n  "));
    }
    if (d.node !== result.node || d.site !== result.site) {
      throw new FieldError(`the node runs as ${d.site}/${d.node}, not ${result.site}/${result.node}: it did not take the new config`);
    }
    out.line(`the node runs as ${result.site}/${result.node} with the new config`);
    return result;
  } finally {
    if (link && reached) await relockConsole(link, password, out).catch(() => false);
    await link?.close();
  }
}

function boardFromNode(info: NodeInfo, given: string | undefined, where: string): string {
  const running = info.firmware?.board;
  if (given && running && given !== running) {
    throw new FieldError(`the node on ${where} runs ${running} firmware but --board says ${given}: flash it first, or drop --board`);
  }
  const board = given ?? running;
  if (!board) throw new FieldError(`cannot tell the board of the node on ${where} (no CasaNode firmware answers): flash it first, or give --board`);
  return board;
}
