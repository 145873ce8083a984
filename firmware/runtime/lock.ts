// The console lock. Espruino's own lock (E.setPassword + E.lockConsole) cannot do what a street
// node needs: no JS sees a byte typed while it is locked (jsinteractive.c hands every byte to
// the password check), so it can neither slow down guessing nor answer a health request, and
// nothing relocks it once someone logged in. So the firmware locks by taking the REPL off its
// serial port (E.setConsole(null, {force: true})) and reading the port itself: the line
// "health" gets the diag report as one JSON line (no secrets, no code run), the password moves
// the REPL back (forced, so Telnet cannot take it), anything else is a wrong guess and the
// next guess waits 1, 2, 4 ... 300 s. It speaks Espruino's own prompts ("password>",
// "Logged in.", "Invalid password"), so the field tools and the Espruino IDE log in unchanged.
// Relocked by casanode.lock() (the tools, before they close) and after IDLE_LOCK_MS without a
// casanode.* call. Firmware code: ES5, Espruino subset.

/** the REPL's serial device and a way to move the REPL on and off it */
export interface ConsolePort {
  port: EspruinoSerial;
  attach(on: boolean): void;
}

/** a logged-in console with no casanode.* call for this long locks itself */
export const IDLE_LOCK_MS = 10 * 60000;
/** the first wrong password delays the next guess this long; each further one doubles it */
export const GUESS_DELAY_MS = 1000;
export const MAX_GUESS_DELAY_MS = 300000;
/** the fixed pre-login request, answered with "health <diag JSON>" */
export const HEALTH_REQUEST = "health";
/** longer lines are cut (a password is at most 20 chars, Espruino's limit) */
const MAX_LINE = 64;

export class ConsoleLock {
  locked: boolean;
  /** wrong guesses since the last login */
  fails: number;
  /** no guess is taken before this (ms, Date.now()) */
  waitUntil: number;
  lastUse: number;
  private line: string;
  private lastCr: boolean;
  private idleTimer: any;
  private listening: boolean;

  constructor(
    private con: ConsolePort,
    private password: string,
    private health: () => any,
  ) {
    this.locked = false;
    this.fails = 0;
    this.waitUntil = 0;
    this.lastUse = 0;
    this.line = "";
    this.lastCr = false;
    this.idleTimer = undefined;
    this.listening = false;
  }

  /** take the REPL off the port; from now on only the password or "health" get an answer */
  lock(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.listening) {
      var self = this;
      this.con.port.on("data", function (data: string) {
        self.input(data);
      });
      this.listening = true;
    }
    this.con.attach(false);
    this.locked = true;
    this.line = "";
    this.write("\r\n  Console locked: type the password, or " + HEALTH_REQUEST + " for a health report\r\npassword>");
  }

  /** a casanode.* call: the console is in use */
  touch(): void {
    this.lastUse = Date.now();
  }

  /** a line for the console: the REPL prints it, or (locked) the port itself */
  log(line: string, print: (line: string) => void): void {
    // as Espruino redraws its prompt around a print
    if (this.locked) this.write("\r\x1b[J" + line + "\r\npassword>");
    else print(line);
  }

  private write(text: string): void {
    try {
      this.con.port.write(text);
    } catch (e) {
      // nothing to tell it to
    }
  }

  /** bytes typed while locked (on a logged-in console the REPL has them, not us) */
  input(data: string): void {
    if (!this.locked) return;
    for (var i = 0; i < data.length; i++) {
      var ch = data.charAt(i), wasCr = this.lastCr;
      this.lastCr = ch === "\r";
      if (ch === "\r" || ch === "\n") {
        if (ch === "\n" && wasCr) continue;
        var line = this.line;
        this.line = "";
        this.onLine(line);
        if (!this.locked) return; // typed after the password, before the REPL was back: dropped
      } else if (ch === "\x03") this.line = "";
      else if (this.line.length < MAX_LINE) this.line += ch;
    }
  }

  private onLine(line: string): void {
    var now = Date.now();
    if (line === HEALTH_REQUEST) {
      var report: string;
      try {
        report = JSON.stringify(this.health());
      } catch (e) {
        report = JSON.stringify({ error: "" + e });
      }
      this.write("\r\n" + HEALTH_REQUEST + " " + report + "\r\npassword>");
      return;
    }
    // a DLE line is a program's probe or command (the field tools), never a password
    if (line === "" || line.charAt(0) === "\x10") return this.write("\r\npassword>");
    if (now < this.waitUntil) {
      this.write("\r\n  Wait " + Math.ceil((this.waitUntil - now) / 1000) + " s: too many wrong passwords\r\npassword>");
      return;
    }
    if (line !== this.password) {
      this.fails++;
      var delay = Math.min(GUESS_DELAY_MS * Math.pow(2, this.fails - 1), MAX_GUESS_DELAY_MS);
      this.waitUntil = now + delay;
      this.write("\r\n  Invalid password\r\n  Wait " + Math.ceil(delay / 1000) + " s\r\npassword>");
      return;
    }
    this.fails = 0;
    this.waitUntil = 0;
    this.locked = false;
    this.write("\r\n  Logged in.\r\n");
    this.con.attach(true);
    this.touch();
    this.watchIdle();
  }

  private watchIdle(): void {
    var self = this;
    this.idleTimer = setTimeout(function () {
      self.idleTimer = undefined;
      if (self.locked) return;
      if (Date.now() - self.lastUse >= IDLE_LOCK_MS) self.lock();
      else self.watchIdle();
    }, Math.max(1000, this.lastUse + IDLE_LOCK_MS - Date.now()));
  }
}
