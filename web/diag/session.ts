// The page's side of a node's console: the same REPL protocol as `casanode diag` (tools/repl.ts
// Repl, tools/diag.ts readDiag) over whatever link the transport opened. A locked console gets
// the one read-only request it answers before login (readLockedHealth); the crew's actions
// (restart, self-test) need the password.

import { FieldError } from "../../toolchain/field-error.js";
import { LinkTimeout, type ConsoleLink } from "../../tools/console-link.js";
import { ConsoleLocked, Repl, ReplError } from "../../tools/repl.js";
import { readDiag, readHealth, type DiagReport } from "../../tools/diag.js";
export { HEALTH_REQUEST } from "../../tools/diag.js";

/** a locked console has the report ready: no driver walk as casanode.diag() does */
const HEALTH_TIMEOUT_MS = 5000;

/** The read-only health report of a locked console, without a password (tools/diag.ts readHealth). */
export function readLockedHealth(link: ConsoleLink, timeoutMs = HEALTH_TIMEOUT_MS): Promise<DiagReport> {
  return readHealth(link, timeoutMs, "log in with its password to read it");
}

export type CrewAction = "restart" | "selftest";

export interface SelfTest {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

export class DiagSession {
  /** the console asked for a password and nobody has logged in */
  locked = false;
  private repl: Repl;

  constructor(
    readonly link: ConsoleLink,
    private readonly promptTimeoutMs = 5000,
  ) {
    this.repl = new Repl(link, { promptTimeoutMs });
  }

  /** Reach the REPL; a locked console is not an error here (read() then asks for health). */
  async open(): Promise<void> {
    try {
      await this.repl.attach();
      this.locked = false;
    } catch (err) {
      if (!(err instanceof ConsoleLocked)) throw err;
      this.locked = true;
    }
  }

  read(): Promise<DiagReport> {
    return this.locked ? readLockedHealth(this.link) : readDiag(this.repl);
  }

  async login(password: string): Promise<void> {
    if (!password) throw new FieldError("type the console password first");
    const repl = new Repl(this.link, { password, promptTimeoutMs: this.promptTimeoutMs });
    await repl.attach();
    this.repl = repl;
    this.locked = false;
  }

  /** A crew action on a logged-in console: casanode.restart() or casanode.selftest(). */
  async act(action: CrewAction): Promise<SelfTest | boolean> {
    if (this.locked) throw new ConsoleLocked("log in with the console password first");
    const fn = action === "restart" ? "restart" : "selftest";
    const r = await this.repl.eval<SelfTest | boolean | null>(`typeof casanode!=="undefined"&&casanode.${fn}?casanode.${fn}():null`);
    if (r === null) throw new ReplError(`this node's firmware has no casanode.${fn}(): update it`);
    return r;
  }

  /**
   * Lock the console again before letting go (a logged-in console hands the next person the
   * node): casanode.lock() where the firmware has it. Best effort.
   */
  async lock(): Promise<void> {
    if (this.locked) return;
    try {
      await this.repl.eval('typeof casanode!=="undefined"&&casanode.lock?casanode.lock():false', 2000);
    } catch {
      // gone or asleep: the firmware locks at every boot
    }
  }
}
