// Espruino's REPL as the field tools drive it over a console link: commands with their JSON
// results between markers, the prompt probe, logging in to a locked console and locking it again.

import { FieldError } from "../toolchain/field-error.js";
import { CONSOLE_BAUD, excerpt, isGarbled, LinkTimeout, type ConsoleLink } from "./console-link.js";
import type { Reporter } from "./reporter.js";

/** How long a node may take to show a prompt (it may be finishing a sensor cycle). */
export const PROMPT_TIMEOUT_MS = 5000;
/** One REPL command, a Storage chunk write included (a flash page erase takes tens of ms). */
export const COMMAND_TIMEOUT_MS = 5000;
/** Espruino checks at most 20 chars of a typed password (Espruino's src/jsinteractive.c). */
const MAX_PASSWORD_CHARS = 20;
/** Ctrl-C: breaks running JS (and clears the line); DLE (0x10) at a line start: no echo for that line. */
const CTRL_C = "\x03";
const ECHO_OFF = "\x10";

export interface ReplOptions {
  /** E.setPassword's password, if the console is locked */
  password?: string;
  promptTimeoutMs?: number;
  commandTimeoutMs?: number;
  /**
   * Send one Ctrl-C when the console has not answered for half the prompt time. It breaks
   * whatever JS runs (a stuck loop, but also a healthy firmware mid-write): only for tools
   * that stop the firmware anyway (flash, provision), never for a read-only look (diag).
   */
  interrupt?: boolean;
}

/** The console asks for a password nobody gave. */
export class ConsoleLocked extends FieldError {}

/** The node's answer to one command had no parsable result. */
export class ReplError extends FieldError {}

/**
 * Espruino's REPL, driven by a program: each command goes on one line after DLE (no echo) and
 * prints its JSON result between numbered markers, so log lines, prompts, CRLF and stale
 * answers around it do not matter. The markers are split in the command ("<<"+"CN:1>>") so an
 * echoed command never looks like an answer.
 */
export class Repl {
  private seq = 0;
  /** start command lines with DLE (echo off); cleared for a console that refuses it */
  private dle = true;
  /** this Repl typed the password: the console must be locked again before the tool lets go */
  loggedIn = false;
  readonly promptTimeoutMs: number;
  readonly commandTimeoutMs: number;

  constructor(
    readonly link: ConsoleLink,
    private readonly options: ReplOptions = {},
  ) {
    this.promptTimeoutMs = options.promptTimeoutMs ?? PROMPT_TIMEOUT_MS;
    this.commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
  }

  /**
   * Wait until the REPL answers a probe line, logging in if the console is locked. No Ctrl-C at
   * first: on a device it interrupts whatever JS is running (a firmware mid-boot or mid-write),
   * and on the Linux build two of them exit. A half-typed line only spoils the first probe (it
   * runs as junk, the next probe starts on an empty line). Ctrl-C is the last resort, once, for
   * a console stuck in a busy loop, and only with the interrupt option.
   */
  async attach(): Promise<void> {
    const start = Date.now();
    const deadline = start + this.promptTimeoutMs;
    const probeWait = Math.min(1000, Math.max(100, this.promptTimeoutMs / 5));
    const firstId = this.seq + 1;
    let heard = "";
    let loggedIn = false;
    let interrupted = false;
    let syntaxErrors = 0;
    for (;;) {
      const id = ++this.seq;
      heard += this.link.drain();
      if (Date.now() >= deadline) throw this.noAnswer(heard, interrupted);
      if (this.options.interrupt && !interrupted && Date.now() - start >= this.promptTimeoutMs / 2) {
        await this.link.write(CTRL_C);
        interrupted = true;
      }
      await this.link.write(this.lineStart() + `print(${marker("CN:" + id)}+"ready"+${marker("END:" + id)})\n`);
      try {
        // a late answer to an earlier probe of this attach counts too
        const m = await this.link.expect(/<<CN:(\d+)>>ready<<END:\1>>|password>|Uncaught SyntaxError/, Math.min(probeWait, Math.max(1, deadline - Date.now())));
        if (m[0] === "Uncaught SyntaxError") {
          // a JS console that is not Espruino's (an emulation) may not take DLE: go on without it
          // (one error can be a half-typed line that spoiled the first probe)
          if (++syntaxErrors >= 2) this.dle = false;
          continue;
        }
        if (m[0] !== "password>") {
          if (Number(m[1]) >= firstId) return;
          continue;
        }
        if (loggedIn) throw new FieldError(`${this.link.name}: the console is still locked after logging in`);
        await this.login();
        loggedIn = true;
      } catch (err) {
        if (!(err instanceof LinkTimeout)) throw err;
      }
    }
  }

  private async login(): Promise<void> {
    const password = this.options.password;
    if (password === undefined) throw new ConsoleLocked(`the console of the node on ${this.link.name} is locked (E.setPassword): give its password with --password`, 2);
    if (password.length > MAX_PASSWORD_CHARS || /[\r\n]/.test(password)) throw new FieldError(`--password: Espruino passwords are at most ${MAX_PASSWORD_CHARS} characters on one line`, 2);
    this.link.drain();
    await this.link.write(password + "\n");
    try {
      const m = await this.link.expect(/Logged in|Invalid password|Wait (\d+) s: too many wrong passwords/, this.commandTimeoutMs);
      if (m[1]) throw new FieldError(`the console on ${this.link.name} takes no password for ${m[1]} s after wrong ones: wait and try again`);
      if (m[0] !== "Logged in") throw new FieldError(`wrong password for the console on ${this.link.name}`);
      this.loggedIn = true;
    } catch (err) {
      if (err instanceof LinkTimeout) throw new FieldError(`the node on ${this.link.name} did not answer the password`);
      throw err;
    }
  }

  private noAnswer(heard: string, interrupted: boolean): FieldError {
    const s = this.promptTimeoutMs / 1000;
    const visible = heard.replace(/[\r\n>\s]|\x1b\[J/g, "");
    if (!visible) {
      return new FieldError(`no answer from the node on ${this.link.name} within ${s} s: is it powered? is the baud rate ${CONSOLE_BAUD}? (a battery node may be asleep: press its reset button and run again)`);
    }
    const refused = /Uncaught [^\r\n]*/.exec(heard);
    if (refused) {
      return new FieldError(`the console on ${this.link.name} refused the tools' commands (${refused[0].trim()}): is it an Espruino REPL that takes DLE (0x10) lines?`);
    }
    if (isGarbled(heard)) {
      return new FieldError(`the node on ${this.link.name} sent only garbled bytes (${excerpt(heard, 40)}): is the baud rate ${CONSOLE_BAUD}? is this the console port?`);
    }
    return new FieldError(
      `the node on ${this.link.name} did not answer REPL commands within ${s} s${interrupted ? " (not even after Ctrl-C)" : ""}; it printed ${excerpt(heard)}. Is it asleep, its console moved off this port, or its program stuck? Try its reset button.`,
    );
  }

  private lineStart(): string {
    return this.dle ? ECHO_OFF : "";
  }

  /** Evaluate one JS expression on the node; resolves to its JSON value. */
  async eval<T = unknown>(expr: string, timeoutMs = this.commandTimeoutMs): Promise<T> {
    const id = ++this.seq;
    this.link.drain(); // stale output and log lines before this command
    const line = `try{print(${marker("CN:" + id)}+JSON.stringify(${expr})+${marker("END:" + id)})}catch(e){print(${marker("CN!" + id)}+JSON.stringify(""+e)+${marker("END:" + id)})}`;
    await this.link.write(this.lineStart() + line + "\n");
    let m: RegExpExecArray;
    try {
      m = await this.link.expect(new RegExp(`<<CN(:|!)${id}>>([^\\r\\n]*?)<<END:${id}>>`), timeoutMs);
    } catch (err) {
      if (!(err instanceof LinkTimeout)) throw err;
      const uncaught = /Uncaught [^\r\n]*/.exec(err.received);
      if (uncaught) throw new ReplError(`the node refused ${short(expr)}: ${uncaught[0]}`);
      const got = err.received.replace(/[\r\n>\s]|\x1b\[J/g, "") ? `; it printed ${excerpt(err.received)}` : "";
      throw new ReplError(`no reply from the node on ${this.link.name} to ${short(expr)} within ${timeoutMs / 1000} s${got}`);
    }
    const payload = m[2];
    if (m[1] === "!") throw new ReplError(`the node failed on ${short(expr)}: ${safeParse(payload) ?? payload}`);
    if (payload === "undefined") return undefined as T;
    try {
      return JSON.parse(payload) as T;
    } catch {
      throw new ReplError(`garbled reply from the node to ${short(expr)}: ${excerpt(payload)}`);
    }
  }

  /** Run statements on the node (no result) and wait until they have run. */
  async exec(statements: string, timeoutMs = this.commandTimeoutMs): Promise<void> {
    await this.eval(`(function(){${statements}})()`, timeoutMs);
  }

  /** Send a line without waiting for an answer (load(), reset(): the REPL goes away). */
  async send(statements: string): Promise<void> {
    this.link.drain();
    await this.link.write(this.lineStart() + statements + "\n");
  }
}

/**
 * Lock the console again before a tool lets go of it: a console left logged in hands the next
 * person casanode.json (Wi-Fi password, command key) and eraseAll(). CasaNode firmware locks
 * with casanode.lock(); where none runs (flash or provision stopped it and failed before the
 * restart), Espruino's own lock with the password the tool knows. A console that asks for a
 * password is locked already. Best effort: says so when it could not.
 */
export async function relockConsole(link: ConsoleLink, password: string | undefined, out?: Reporter): Promise<boolean> {
  const repl = new Repl(link, { promptTimeoutMs: 2000, commandTimeoutMs: 2000 });
  try {
    await repl.attach();
  } catch (err) {
    // no answer: asleep or restarting, and the firmware locks at every boot
    if (err instanceof ConsoleLocked || err instanceof FieldError) return err instanceof ConsoleLocked;
    throw err;
  }
  const native = password ? `(E.setPassword(${JSON.stringify(password)}),E.lockConsole(),true)` : "false";
  try {
    const locked = await repl.eval<boolean>(`typeof casanode!=="undefined"&&casanode.lock?casanode.lock():${native}`);
    if (!locked) return false; // nothing to lock with: the node has no console password
    await link.expect(/password>/, 2000);
    return true;
  } catch (err) {
    if (!(err instanceof FieldError) && !(err instanceof LinkTimeout)) throw err;
    out?.line(`warning: the console may still be unlocked (${err.message}); power-cycle the node to lock it`);
    return false;
  }
}

/** A JS string expression that prints as <<text>> but does not contain it literally. */
function marker(text: string): string {
  return `"<<"+${JSON.stringify(text + ">>")}`;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function short(expr: string): string {
  return expr.length > 48 ? expr.slice(0, 45) + "..." : expr;
}
