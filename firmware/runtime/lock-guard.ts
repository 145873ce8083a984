// The console lock's part that runs at every wake (runtime/lock.ts says why the firmware locks
// the console itself): it takes the REPL off every console device, says the banner, shows log
// lines there, and hands what is typed to the lock's code in the console's part, evaluated at
// the first byte. Most wakes see none, and lexed 1.4 KB of lock for nothing.
// Firmware code: ES5, Espruino subset.

/** a console device (Serial1, Bluetooth) and a way to move the REPL on and off it */
export interface ConsolePort {
  port: EspruinoSerial;
  attach(on: boolean): void;
  /** calls fn when the link drops (a BLE central leaves): the REPL, forced there, would stay for the next one */
  closed?(fn: () => void): void;
}

/** the fixed pre-login request, answered with "health <diag JSON>" */
export const HEALTH_REQUEST = "health";
/** what a device says as it locks */
export const LOCKED_PROMPT = "\r\n  Console locked: type the password, or " + HEALTH_REQUEST + " for a health report\r\npassword>";

/** the lock as the node and the console commands use it */
export interface ConsoleGuard {
  /** true while no device has the REPL */
  locked(): boolean;
  /** take the REPL off every device */
  lock(): void;
  /** a casanode.* call: the console is in use */
  touch(): void;
  /** a line for the console: the REPL prints it (on a logged-in device), each locked device itself */
  log(line: string, print: (line: string) => void): void;
}

/** the lock's code in the console's part (runtime/lock.ts ConsoleLock) */
export interface FullLock extends ConsoleGuard {
  input(data: string, i: number): void;
  closed(i: number): void;
}

function write(c: ConsolePort, text: string): void {
  try {
    c.port.write(text);
  } catch (e) {
    // nothing to tell it to (no BLE central connected)
  }
}

/** `load` makes the lock's code (in the console's part) for `cons`, the first time a byte is typed */
export function guardConsole(cons: ConsolePort[], load: () => FullLock): ConsoleGuard {
  var full: FullLock | null = null, on = false;
  var lock = function (): FullLock {
    if (!full) full = load();
    return full;
  };
  return {
    locked: function () {
      return full ? full.locked() : on;
    },
    lock: function () {
      if (full) return full.lock();
      if (on) return;
      on = true;
      cons.forEach(function (c, i) {
        c.port.on("data", function (data: string) {
          lock().input(data, i);
        });
        if (c.closed)
          c.closed(function () {
            // before any byte was typed no device can have logged in
            if (full) full.closed(i);
          });
        c.attach(false);
        write(c, LOCKED_PROMPT);
      });
    },
    touch: function () {
      if (full) full.touch();
    },
    log: function (line, print) {
      if (full) return full.log(line, print);
      if (!on) return print(line);
      // as Espruino redraws its prompt around a print
      for (var i = 0; i < cons.length; i++) write(cons[i], "\r\x1b[J" + line + "\r\npassword>");
    },
  };
}
