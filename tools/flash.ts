// `casanode flash`: put a board's bundle in the node's flash as the Storage file .bootcde, so
// Espruino runs it at boot with function bodies left in flash (27 KB took 2400 vars this way
// against 6700 typed into the REPL: docs/espruino-dialect.md). Chunks go as base64 lines
// on the REPL, each acknowledged; a CRC-32 read back from the node proves the copy before the
// node is restarted.

import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import path from "node:path";
import { ensureBundle } from "../toolchain/bundle.js";
import { checkBundle } from "../toolchain/bundle-check.js";
import { boardNames } from "../toolchain/boards.mjs";
import { ROOT } from "../toolchain/root.mjs";
import { BOOT_FILE, CHUNK_BYTES, storageWriteCommands } from "../toolchain/storage.js";
import { FieldError } from "../toolchain/field-error.js";
import { LinkTimeout, openLink, type OpenOptions } from "./console-link.js";
import { ConsoleLocked, relockConsole, Repl } from "./repl.js";
import { consoleReporter, type Reporter } from "./reporter.js";
import { NoFirmware, readDiag, type DiagReport } from "./diag.js";
import { crc32 } from "../sim/espruino/crc32.js";

/** A node prints its boot line within a few seconds of load() (Wi-Fi comes later). */
export const BOOT_TIMEOUT_MS = 10000;
/** Espruino's reset() takes well under a second; attach() retries anyway. */
const RESET_PROMPT_MS = 1000;
/** The firmware's boot line (firmware/node.ts): "CasaNode <fw> <board> <node> boot=<cause>[ SAFE MODE: why]". */
export const BOOT_LINE = /CasaNode (\S+) (\S+) (\S+) boot=([\w-]+)([^\r\n]*)/;

export interface StorageFileInfo {
  bytes: number;
  crc: number;
}

/** Size and E.CRC32 of a Storage file on the node, or null if it has none. */
export function readStorageInfo(repl: Repl, name: string): Promise<StorageFileInfo | null> {
  return repl.eval<StorageFileInfo | null>(`(function(f){return f===undefined?null:{bytes:f.length,crc:E.CRC32(f)}})(require("Storage").read(${JSON.stringify(name)}))`);
}

/** Write a Storage file chunk by chunk, each acknowledged, then check length and CRC-32. */
export async function writeStorageFile(
  repl: Repl,
  name: string,
  data: Uint8Array,
  options: { chunkBytes?: number; onChunk?: (bytesDone: number) => void } = {},
): Promise<StorageFileInfo> {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const commands = storageWriteCommands(name, data, chunkBytes);
  for (let i = 0; i < commands.length; i++) {
    const offset = i * chunkBytes;
    const ok = await repl.eval<boolean>(commands[i]);
    if (ok !== true) throw new FieldError(`the node did not store ${name} at byte ${offset} of ${data.length} (flash full or worn?)`);
    options.onChunk?.(Math.min(data.length, offset + chunkBytes));
  }
  const want: StorageFileInfo = { bytes: data.length, crc: crc32(data) };
  const got = await readStorageInfo(repl, name);
  if (!got || got.bytes !== want.bytes || got.crc !== want.crc) {
    throw new VerifyError(name, want, got);
  }
  return got;
}

export class VerifyError extends FieldError {
  constructor(
    readonly file: string,
    readonly want: StorageFileInfo,
    readonly got: StorageFileInfo | null,
  ) {
    super(
      `verification of ${file} failed: the node has ${got ? `${got.bytes} bytes, CRC-32 ${hex(got.crc)}` : "no such file"}, expected ${want.bytes} bytes, CRC-32 ${hex(want.crc)}`,
    );
  }
}

export function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

export interface NodeInfo {
  /** Espruino version, e.g. "2v29" */
  espruino?: string;
  /** Espruino's board, e.g. "ESP32" */
  chip?: string;
  /** who the running CasaNode firmware says it is (from casanode.diag()), null if none runs */
  firmware?: { board?: string; fw?: string; node?: string; site?: string } | null;
  storage?: { freeBytes: number; trashBytes?: number; totalBytes?: number };
  bootBytes?: number;
}

/** What the node is: Espruino version, free flash, the running firmware's status. */
export function readNodeInfo(repl: Repl): Promise<NodeInfo> {
  return repl.eval<NodeInfo>(
    `(function(){var S=require("Storage"),b=S.read(${JSON.stringify(BOOT_FILE)}),st=S.getStats?S.getStats():{freeBytes:S.getFree()},c=null;` +
      `try{if(typeof casanode!=="undefined"&&casanode.diag){var d=casanode.diag();c={board:d.board,fw:d.fw,node:d.node,site:d.site}}}catch(e){}` +
      `return {espruino:process.env.VERSION,chip:process.env.BOARD,firmware:c,storage:st,bootBytes:b===undefined?0:b.length}})()`,
  );
}

/**
 * Stop the running firmware (reset(): clears RAM, keeps flash) so it neither deep-sleeps nor
 * writes Storage while we work; wait until the REPL answers again.
 */
export async function stopFirmware(repl: Repl): Promise<boolean> {
  // reset() runs when the line ends, after this reply; a console without it (an emulation) keeps running
  const resetting = await repl.eval<boolean>('typeof reset==="function"&&(reset(),true)');
  if (!resetting) return false;
  // then Espruino prints its banner and a prompt
  await repl.link.expect(/>/, RESET_PROMPT_MS).catch((err) => {
    if (!(err instanceof LinkTimeout)) throw err;
  });
  await repl.attach();
  return true;
}

/** Restart the node into its flash (load() runs .bootcde afresh) and wait for the boot line. */
export async function restartAndWaitForBoot(repl: Repl, timeoutMs = BOOT_TIMEOUT_MS): Promise<RegExpExecArray> {
  await repl.send("load()");
  try {
    return await repl.link.expect(BOOT_LINE, timeoutMs);
  } catch (err) {
    if (err instanceof FieldError) throw err;
    const crash = /Uncaught [^\r\n]*/.exec((err as LinkTimeout).received ?? "");
    throw new FieldError(`the node restarted but printed no CasaNode boot line within ${timeoutMs / 1000} s${crash ? ` (it printed: ${crash[0]})` : ""}; read its boot output on a serial terminal`);
  }
}

export interface BootCheck {
  bootLine: string;
  /** the firmware's own report after the boot; undefined when its console is locked and no password was given */
  report?: DiagReport;
}

/**
 * Restart, wait for the boot line, then ask the firmware's console for its report: a bundle
 * that prints its boot line and then throws leaves no casanode object behind.
 */
export async function restartAndCheck(repl: Repl, options: { bootTimeoutMs?: number; password?: string }, out: Reporter): Promise<BootCheck> {
  const lines: string[] = [];
  const off = repl.link.onLine((l) => lines.push(l));
  try {
    const boot = await restartAndWaitForBoot(repl, options.bootTimeoutMs);
    const bootLine = boot[0].trim();
    out.line(`node restarted: ${bootLine}`);
    // no Ctrl-C now: the new firmware may still be starting
    const after = new Repl(repl.link, { password: options.password, promptTimeoutMs: repl.promptTimeoutMs, commandTimeoutMs: repl.commandTimeoutMs });
    try {
      await after.attach();
    } catch (err) {
      if (!(err instanceof ConsoleLocked)) throw err;
      out.line("the console is locked after the restart (the config's consolePassword): give --password to check the firmware");
      return { bootLine };
    }
    let report: DiagReport;
    try {
      report = await readDiag(after);
    } catch (err) {
      if (!(err instanceof NoFirmware)) throw err;
      const crash = lines.find((l) => /Uncaught|Execution Interrupted|Out of Memory/i.test(l));
      throw new FieldError(`the node printed its boot line, then its firmware stopped${crash ? ` (${crash.trim()})` : ""}; read its boot output on a serial terminal`);
    }
    if (report.safe) out.line(`warning: the node is in SAFE MODE: ${report.safe}`);
    return { bootLine, report };
  } finally {
    off();
  }
}

export interface FlashOptions {
  port: string;
  board: string;
  dryRun?: boolean;
  password?: string;
  /** flash this file instead of dist/<board>.js (built elsewhere, or a test bundle) */
  bundleFile?: string;
  /** let the espruino npm CLI write the file, then verify and restart here */
  viaEspruinoCli?: boolean;
  chunkBytes?: number;
  promptTimeoutMs?: number;
  bootTimeoutMs?: number;
  link?: OpenOptions;
  reporter?: Reporter;
}

export interface FlashResult {
  file: string;
  bytes: number;
  crc: number;
  chunks: number;
  written: boolean;
  bootLine?: string;
}

export async function flash(options: FlashOptions): Promise<FlashResult> {
  const out = options.reporter ?? consoleReporter();
  const file = options.bundleFile ?? (await bundleFor(options.board));
  let code: Buffer;
  try {
    code = readFileSync(file);
  } catch (err) {
    throw new FieldError(`cannot read the bundle ${file}: ${(err as Error).message}`);
  }
  const problems = checkBundle(code.toString("latin1"));
  if (problems.length) {
    const list = problems.slice(0, 5).map((p) => `${p.construct} at ${p.line}:${p.column}`).join("; ");
    throw new FieldError(`refusing ${rel(file)}: it uses what Espruino does not run (${list}${problems.length > 5 ? `; and ${problems.length - 5} more` : ""})`);
  }
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const result: FlashResult = { file: rel(file), bytes: code.length, crc: crc32(code), chunks: Math.max(1, Math.ceil(code.length / chunkBytes)), written: false };
  out.line(`bundle ${result.file}: ${result.bytes} bytes, CRC-32 ${hex(result.crc)}, ${result.chunks} chunks of ${chunkBytes} bytes`);

  const link = await openLink(options.port, options.link);
  let reached = false;
  try {
    const repl = new Repl(link, { password: options.password, promptTimeoutMs: options.promptTimeoutMs, interrupt: true });
    await repl.attach();
    reached = true;
    const info = await readNodeInfo(repl);
    describeNode(out, link.name, info);
    const running = info.firmware?.board;
    if (running && running !== options.board) out.line(`note: the node ran ${running} firmware; it gets ${options.board} now`);
    const room = (info.storage?.freeBytes ?? 0) + (info.storage?.trashBytes ?? 0) + (info.bootBytes ?? 0);
    if (info.storage && room < code.length) {
      throw new FieldError(`the node has room for ${room} bytes in flash, the bundle needs ${code.length}`);
    }
    if (options.dryRun) {
      out.line(`dry run: would write ${code.length} bytes to ${BOOT_FILE} on ${link.name}, verify CRC-32 ${hex(result.crc)} and restart the node`);
      return result;
    }

    await stopFirmware(repl);
    if (options.viaEspruinoCli) {
      reached = false; // the CLI has the port now; finishAfterCli locks after it
      await link.close();
      await runEspruinoCli(options.port, file, out);
      return await finishAfterCli(options, result, out);
    }
    const bar = out.progress(`flash ${options.board}`, code.length);
    try {
      await writeStorageFile(repl, BOOT_FILE, code, { chunkBytes, onChunk: (done) => bar.update(done) });
    } catch (err) {
      bar.stop();
      if (err instanceof VerifyError && err.got) await eraseBadBoot(repl, out);
      throw err;
    }
    bar.stop();
    result.written = true;
    out.line(`verified: ${code.length} bytes, CRC-32 ${hex(result.crc)} on the node`);
    result.bootLine = (await restartAndCheck(repl, { bootTimeoutMs: options.bootTimeoutMs, password: options.password }, out)).bootLine;
    return result;
  } finally {
    if (reached) await relockConsole(link, options.password, out).catch(() => false);
    await link.close();
  }
}

/** dist/<board>.js, built if stale; a build failure is one line for the technician. */
async function bundleFor(board: string): Promise<string> {
  const boards = boardNames();
  if (!boards.includes(board)) throw new FieldError(`unknown board ${board}; boards: ${boards.join(", ")}`, 2);
  try {
    return await ensureBundle(board);
  } catch (err) {
    const first = String((err as Error).message ?? err).split("\n")[0];
    throw new FieldError(`building dist/${board}.js failed: ${first} (run casanode build ${board} for details)`);
  }
}

/** A .bootcde that failed its CRC would run at every boot: better an empty REPL. */
async function eraseBadBoot(repl: Repl, out: Reporter): Promise<void> {
  try {
    await repl.exec(`require("Storage").erase(${JSON.stringify(BOOT_FILE)})`);
    out.line(`erased the bad ${BOOT_FILE}; the node was not restarted: run flash again`);
  } catch {
    out.line(`could not erase the bad ${BOOT_FILE}: do not power-cycle the node before flashing it again`);
  }
}

function describeNode(out: Reporter, name: string, info: NodeInfo): void {
  const parts = [`Espruino ${info.espruino ?? "?"}`, info.chip ?? "?"];
  if (info.firmware?.board) parts.push(`runs CasaNode ${info.firmware.fw ?? "?"} ${info.firmware.board} as ${info.firmware.site ?? "?"}/${info.firmware.node ?? "?"}`);
  else parts.push(info.bootBytes ? `${info.bootBytes} bytes in ${BOOT_FILE}, no CasaNode running` : "no firmware in flash");
  if (info.storage) parts.push(`${info.storage.freeBytes} bytes of flash free`);
  out.line(`node on ${name}: ${parts.join(", ")}`);
}

function rel(file: string): string {
  const r = path.relative(ROOT, file);
  return r.startsWith("..") ? file : r;
}

/** The espruino npm CLI, as installed with the project. */
export function espruinoCliArgs(port: string, file: string): string[] {
  // --board ESP32: no board lookup on espruino.com (no network at the roadside); --no-ble: its
  // Bluetooth scan needs D-Bus and kills the CLI where there is none
  return ["--no-ble", "-p", port, "-b", "115200", "--board", "ESP32", "--storage", `${BOOT_FILE}:${file}`];
}

function runEspruinoCli(port: string, file: string, out: Reporter): Promise<void> {
  const bin = path.join(ROOT, "node_modules", ".bin", process.platform === "win32" ? "espruino.cmd" : "espruino");
  const args = espruinoCliArgs(port, file);
  out.line(`running espruino ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", (err) => reject(new FieldError(`cannot run the espruino CLI (${err.message}); flash without --via-espruino-cli`)));
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new FieldError(`the espruino CLI failed (exit code ${code})`))));
  });
}

async function finishAfterCli(options: FlashOptions, result: FlashResult, out: Reporter): Promise<FlashResult> {
  const link = await openLink(options.port, options.link);
  let reached = false;
  try {
    const repl = new Repl(link, { password: options.password, promptTimeoutMs: options.promptTimeoutMs, interrupt: true });
    await repl.attach();
    reached = true;
    const got = await readStorageInfo(repl, BOOT_FILE);
    const want = { bytes: result.bytes, crc: result.crc };
    if (!got || got.bytes !== want.bytes || got.crc !== want.crc) {
      if (got) await eraseBadBoot(repl, out);
      throw new VerifyError(BOOT_FILE, want, got);
    }
    result.written = true;
    out.line(`verified: ${result.bytes} bytes, CRC-32 ${hex(result.crc)} on the node`);
    result.bootLine = (await restartAndCheck(repl, { bootTimeoutMs: options.bootTimeoutMs, password: options.password }, out)).bootLine;
    return result;
  } finally {
    if (reached) await relockConsole(link, options.password, out).catch(() => false);
    await link.close();
  }
}
