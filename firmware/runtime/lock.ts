// The console lock. Espruino's own lock (E.setPassword + E.lockConsole) cannot do what a street
// node needs: no JS sees a byte typed while it is locked (Espruino's src/jsinteractive.c hands every byte to
// the password check), so it can neither slow down guessing nor answer a health request, and
// nothing relocks it once someone logged in. So the firmware locks by taking the REPL off its
// serial port (E.setConsole(null, {force: true})) and reading the port itself: the line
// "health" gets the diag report as one JSON line (no secrets, no code run), the password moves
// the REPL back (forced, so Telnet cannot take it), anything else is a wrong guess and the
// next guess waits 1, 2, 4 ... 300 s. It speaks Espruino's own prompts ("password>",
// "Logged in.", "Invalid password"), so the field tools and the Espruino IDE log in unchanged.
// Relocked by casanode.lock() (the tools, before they close) and after IDLE_LOCK_MS without a
// casanode.* call.
// Every console device the board has is guarded alike: Serial1, and Bluetooth when the profile
// turns the BLE console on. Espruino's ESP32 build moves the REPL to "Bluetooth" (EV_BLUETOOTH,
// src/jsdevices.c) when a phone connects to its Nordic UART service, unless the console is
// forced elsewhere (targets/esp32/BLE/esp32_gatts_func.c: `if (!jsiIsConsoleDeviceForced())
// jsiSetConsoleDevice(EV_BLUETOOTH, false)`), and back on disconnect (same test); bytes written
// there reach the GATT server (jshardware.c EV_BLUETOOTH). So the forced E.setConsole(null) keeps
// the REPL off both, and a login gives the REPL to the device it was typed on only: the other
// device is locked again (the REPL is not there any more). A forced console stays on Bluetooth
// after a disconnect, so the lock relocks on NRF.on('disconnect') (emitted by the same handler). Guess delays are shared: a second
// device gives no extra guesses.
// At every wake only the guard (lock-guard.ts) runs: it takes the REPL off, shows the prompt and
// listens. This class is in the console's part, evaluated at the first byte typed, and takes
// over the devices the guard locked. Firmware code: ES5, Espruino subset.

import { HEALTH_REQUEST, LOCKED_PROMPT } from "./lock-guard.js";
import type { ConsolePort } from "./lock-guard.js";

/** a logged-in console with no casanode.* call for this long locks itself */
export const IDLE_LOCK_MS = 10 * 60000;
/** the first wrong password delays the next guess this long; each further one doubles it */
export const GUESS_DELAY_MS = 1000;
export const MAX_GUESS_DELAY_MS = 300000;
/** longer lines are cut (a password is at most 20 chars, Espruino's limit) */
const MAX_LINE = 64;

interface Device {
  con: ConsolePort;
  locked: boolean;
  line: string;
  lastCr: boolean;
}

export class ConsoleLock {
  /** wrong guesses since the last login */
  private _fails: number;
  /** no guess is taken before this (ms, Date.now()) */
  private _waitUntil: number;
  private _lastUse: number;
  private _devs: Device[];
  private _idleTimer: any;

  /** `cons` as the guard left them: locked, their input handed to input() */
  constructor(
    cons: ConsolePort[],
    private _password: string,
    private _health: () => any,
  ) {
    this._fails = 0;
    this._waitUntil = 0;
    this._lastUse = 0;
    this._devs = [];
    for (var i = 0; i < cons.length; i++) this._devs.push({ con: cons[i], locked: true, line: "", lastCr: false });
    this._idleTimer = undefined;
  }

  /** true while no device has the REPL */
  locked(): boolean {
    for (var i = 0; i < this._devs.length; i++) if (!this._devs[i].locked) return false;
    return true;
  }

  /** take the REPL off every device; from now on only the password or "health" get an answer */
  lock(): void {
    if (this._idleTimer !== undefined) clearTimeout(this._idleTimer);
    this._idleTimer = undefined;
    var self = this;
    this._devs.forEach(function (d) {
      d.con.attach(false);
      self._lockDev(d);
    });
  }

  /** bytes typed on device i (the guard listens) */
  input(data: string, i: number): void {
    this._input(data, this._devs[i]);
  }

  /** device i's link dropped: the REPL, forced there, would stay for the next one */
  closed(i: number): void {
    if (!this._devs[i].locked) this.lock();
  }

  private _lockDev(d: Device): void {
    if (d.locked) return;
    d.locked = true;
    d.line = "";
    this._write(d, LOCKED_PROMPT);
  }

  /** a casanode.* call: the console is in use */
  touch(): void {
    this._lastUse = Date.now();
  }

  /** a line for the console: the REPL prints it (on a logged-in device), each locked device itself */
  log(line: string, print: (line: string) => void): void {
    // as Espruino redraws its prompt around a print
    for (var i = 0; i < this._devs.length; i++) if (this._devs[i].locked) this._write(this._devs[i], "\r\x1b[J" + line + "\r\npassword>");
    if (!this.locked()) print(line);
  }

  private _write(d: Device, text: string): void {
    try {
      d.con.port.write(text);
    } catch (e) {
      // nothing to tell it to (no BLE central connected)
    }
  }

  /** bytes typed on a device while it is locked (on a logged-in device the REPL has them, not us) */
  private _input(data: string, d: Device): void {
    if (!d || !d.locked) return;
    for (var i = 0; i < data.length; i++) {
      var ch = data.charAt(i), wasCr = d.lastCr;
      d.lastCr = ch === "\r";
      if (ch === "\r" || ch === "\n") {
        if (ch === "\n" && wasCr) continue;
        var line = d.line;
        d.line = "";
        this._onLine(d, line);
        if (!d.locked) return; // typed after the password, before the REPL was back: dropped
      } else if (ch === "\x03") d.line = "";
      else if (d.line.length < MAX_LINE) d.line += ch;
    }
  }

  private _onLine(d: Device, line: string): void {
    var now = Date.now();
    if (line === HEALTH_REQUEST) {
      var report: string;
      try {
        report = JSON.stringify(this._health());
      } catch (e) {
        report = JSON.stringify({ error: "" + e });
      }
      this._write(d, "\r\n" + HEALTH_REQUEST + " " + report + "\r\npassword>");
      return;
    }
    // a DLE line is a program's probe or command (the field tools), never a password
    if (line === "" || line.charAt(0) === "\x10") return this._write(d, "\r\npassword>");
    if (now < this._waitUntil) {
      this._write(d, "\r\n  Wait " + Math.ceil((this._waitUntil - now) / 1000) + " s: too many wrong passwords\r\npassword>");
      return;
    }
    if (line !== this._password) {
      this._fails++;
      var delay = Math.min(GUESS_DELAY_MS * Math.pow(2, this._fails - 1), MAX_GUESS_DELAY_MS);
      this._waitUntil = now + delay;
      this._write(d, "\r\n  Invalid password\r\n  Wait " + Math.ceil(delay / 1000) + " s\r\npassword>");
      return;
    }
    this._fails = 0;
    this._waitUntil = 0;
    // the REPL leaves whichever other device had it
    for (var i = 0; i < this._devs.length; i++) if (this._devs[i] !== d) this._lockDev(this._devs[i]);
    d.locked = false;
    this._write(d, "\r\n  Logged in.\r\n");
    d.con.attach(true);
    this.touch();
    if (this._idleTimer === undefined) this._watchIdle();
  }

  private _watchIdle(): void {
    var self = this;
    this._idleTimer = setTimeout(function () {
      self._idleTimer = undefined;
      if (self.locked()) return;
      if (Date.now() - self._lastUse >= IDLE_LOCK_MS) self.lock();
      else self._watchIdle();
    }, Math.max(1000, this._lastUse + IDLE_LOCK_MS - Date.now()));
  }
}
