// A SimNode running small hand-written ES5 bundles: each emulated Espruino API against its
// documented (or measured) behaviour, on the virtual clock.

import { expect } from "chai";
import vm from "node:vm";
import { createHash } from "node:crypto";
import { bootNode, iife, START_MS, testBoard } from "../support/node-fixture.js";
import { BOOT_MS, toInt32 } from "../../sim/node.js";
import { MISSING_IN_ESPRUINO, NOT_REMOVABLE, builtinHolder, refuseMissing } from "../../toolchain/espruino-dialect.js";
import type { DeviceSpec } from "../../firmware/board.js";
import { A02_CURRENT_MA } from "../../sim/devices/a02yyuw.js";

const lines = (text: string, prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix));
const flush = () => new Promise<void>((r) => setImmediate(r));

describe("SimNode: the emulated Espruino", () => {
  describe("boot and deep sleep", () => {
    // an A02YYUW-like sensor on Serial2 behind a power switch on D25; its bytes come from a capture
    const sensor: DeviceSpec = {
      name: "bin",
      model: "a02yyuw",
      bus: { kind: "serial", port: "Serial2", tx: "D17", rx: "D16", baud: 9600 },
      power: { pin: "D25", activeHigh: true },
      currentMa: { on: 8, off: 0 },
    };
    const frame = Uint8Array.of(0xff, 0x02, 0x80, 0x81); // 640 mm, sum = (FF+02+80) & FF
    const bundle = iife(`
      var S = require("Storage");
      var st = S.readJSON("st.json", true) || { boots: 0 };
      st.boots++;
      S.writeJSON("st.json", st);
      var cause = ESP32.getWakeupCause();
      print("boot " + st.boots + " cause " + cause + " at " + Date.now());
      if (cause !== 4) return ESP32.deepSleep(10e6);
      Serial2.setup(9600, { rx: D16, tx: D17 });
      digitalWrite(D25, 1);
      var buf = "";
      Serial2.on("data", function (d) {
        buf += d;
        var i = buf.indexOf("\\xff");
        if (i < 0 || buf.length < i + 4) return;
        var h = buf.charCodeAt(i + 1), l = buf.charCodeAt(i + 2), sum = buf.charCodeAt(i + 3);
        if (((0xff + h + l) & 0xff) !== sum) { buf = buf.slice(i + 1); return; }
        print("distance " + (h * 256 + l));
        digitalWrite(D25, 0);
        ESP32.deepSleep(10e6);
      });`);

    it("counts boots in Storage, sleeps 10 s and on each wake reads the sensor over Serial2", () => {
      const h = bootNode(bundle, { devices: [sensor], replay: { bin: frame } });
      h.node.start();
      h.clock.advance(45_000);
      const boots = lines(h.out(), "boot ");
      expect(boots[0]).to.match(/^boot 1 cause 0 at /);
      expect(boots.slice(1).every((l) => / cause 4 /.test(l))).to.equal(true);
      expect(boots.length).to.equal(h.node.stats.boots + h.node.stats.wakes);
      expect(h.node.stats.boots).to.equal(1);
      expect(h.node.stats.wakes).to.be.within(3, 4);
      expect(lines(h.out(), "distance ").length).to.be.at.least(3);
      expect(lines(h.out(), "distance ").every((l) => l === "distance 640")).to.equal(true);
      expect(h.node.storage.readJSON("st.json")).to.deep.equal({ boots: boots.length });
      expect(h.node.stats.crashes).to.equal(0);
      h.node.stop();
    });

    it("wakes 10 s after the sleep, the bundle running BOOT_MS after the timer, in a fresh context", () => {
      const h = bootNode(iife(`
        if (ESP32.getWakeupCause() === 4) { print("woke x=" + typeof global.x + " timers=" + (typeof leak)); return; }
        global.x = 5;
        setTimeout(function () { print("LEAK"); }, 20000);
        setWatch(function () { print("LEAK watch"); }, D14, { repeat: true });
        print("sleeping at " + getTime());
        ESP32.deepSleep(10e6);
        print("not reached");`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.node.powerState).to.equal("asleep");
      expect(h.node.timerCount()).to.equal(0);
      const sleptAt = h.clock.now() - 1;
      h.clock.advance(10_000 - 1);
      expect(h.node.powerState).to.equal("booting");
      h.node.pins.drive("D14", true); // the old watch is gone
      h.clock.advance(BOOT_MS);
      expect(h.clock.now() - sleptAt).to.equal(10_000 + BOOT_MS);
      h.clock.advance(30_000);
      expect(h.out()).to.include("woke x=undefined");
      expect(h.out()).to.not.include("LEAK");
      expect(h.out()).to.not.include("not reached");
      h.node.stop();
    });

    it("runs a statement before the bundle as soon as it is lexed; timers and input wait until the whole image is", () => {
      // the image's boot time grows with its bytes: 40 KB of comment lexes for ~0.5 s here
      const image =
        `var early = Date.now(); Serial2.setup(9600, { rx: D16, tx: D17 }); digitalWrite(D25, 1); setTimeout(function () { print("timer at " + (Date.now() - early)); }, 0);\n` +
        iife(`// ${"x".repeat(40_000)}\n print("main at " + (Date.now() - early));
          Serial2.on("data", function (d) { print("data at " + (Date.now() - early) + ": " + d.length + " bytes"); digitalWrite(D25, 0); Serial2.removeAllListeners(); });`);
      const h = bootNode(image, { devices: [sensor], bootMs: undefined });
      const powered: number[] = [];
      h.node.pins.onChange("D25", (high, t) => {
        if (high) powered.push(t);
      });
      h.node.start();
      const bootMs = h.node.bootMs;
      expect(bootMs).to.be.above(BOOT_MS + 400);
      h.clock.advance(bootMs + 1000);
      // the supply came on just after the fixed part of the boot, long before the bundle ran
      expect(powered[0] - START_MS).to.be.within(BOOT_MS, BOOT_MS + 20);
      const early = powered[0] - START_MS;
      const at = (prefix: string) => lines(h.out(), prefix).map((l) => Number(l.slice(prefix.length).split(":")[0]));
      expect(at("main at ")).to.have.length(1);
      // (the statements before the pin's take their share of the lexing too: a few ms)
      expect(at("main at ")[0]).to.be.closeTo(bootMs - early, 4);
      expect(at("timer at ")).to.deep.equal(at("main at "));
      // the sensor's first frames (300 ms after power-up, then every 100-300 ms) waited in the input queue
      const data = lines(h.out(), "data at ");
      expect(data.length).to.equal(1);
      expect(at("data at ")).to.deep.equal(at("main at "));
      expect(Number(data[0].split(": ")[1].split(" ")[0])).to.be.at.least(4);
      expect(h.node.stats.crashes).to.equal(0);
      h.node.stop();
    });

    it("keeps console input typed while an evaluated module is lexed, and hands it over after, in order", () => {
      // the firmware's console lock reads Serial1 itself and evaluates its code at the first byte
      const image = iife(`
        E.setConsole(null, { force: true });
        var got = [];
        Serial1.on("data", function (d) {
          got.push(d);
          if (got.length === 1) eval("/* ${"x".repeat(20_000)} */ 1");
          require("Storage").write("got", JSON.stringify(got));
        });`);
      const h = bootNode(image);
      h.node.start();
      h.clock.advance(BOOT_MS + 100);
      h.node.consoleInput("first");
      // the 20 KB string takes ~0.4 s of the ESP32's lexing: this comes while it is busy
      h.clock.advance(20);
      h.node.consoleInput("second");
      h.clock.advance(2000);
      expect(JSON.parse(h.node.storage.read("got")!)).to.deep.equal(["first\r", "second\r"]);
      h.node.stop();
    });

    it("lets MCU pins float in deep sleep: a switched device loses power", () => {
      const h = bootNode(iife(`digitalWrite(D25, 1); setTimeout(function () { ESP32.deepSleep(60e6); }, 1000);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 10);
      expect(h.node.pins.driven("D25")).to.equal(true);
      h.clock.advance(2000);
      expect(h.node.powerState).to.equal("asleep");
      expect(h.node.pins.driven("D25")).to.equal(false);
      h.node.stop();
    });

    it("keeps a latched supply (power.offPin) through deep sleep and resets: pulses set and clear it, only a power cut loses it", () => {
      const latched: DeviceSpec = { ...sensor, power: { pin: "D25", activeHigh: true, offPin: "D26" } };
      // set, sleep 10 s, then clear and sleep; a wake at once after power-on does the same
      const h = bootNode(iife(`
        var cause = ESP32.getWakeupCause();
        if (cause !== 4) { digitalWrite(D25, 1); digitalWrite(D25, 0); return ESP32.deepSleep(10e6); }
        setTimeout(function () { digitalWrite(D26, 1); digitalWrite(D26, 0); ESP32.deepSleep(60e6); }, 1000);`), { devices: [latched] });
      const on = () => h.node.devices.bin.active();
      h.node.start();
      h.clock.advance(BOOT_MS + 10);
      expect(h.node.powerState).to.equal("asleep");
      // the chip's pins float, the latch holds: the sensor runs (and draws) while the chip sleeps
      expect(h.node.pins.driven("D25")).to.equal(false);
      expect(on()).to.equal(true);
      h.clock.advance(9000);
      expect(on()).to.equal(true);
      h.node.updateEnergy();
      const q = h.node.stats.chargeMah;
      h.clock.advance(500);
      h.node.updateEnergy();
      expect(h.node.stats.chargeMah - q).to.be.closeTo((500 * (A02_CURRENT_MA + testBoard().currentMa.sleep)) / 3_600_000, 1e-9);
      h.clock.advance(BOOT_MS + 1500);
      expect(h.node.powerState).to.equal("asleep");
      expect(on()).to.equal(false);
      // set again by the power-on boot after a cut: the cut clears it
      h.node.powerCut(5000);
      h.clock.advance(5000 + BOOT_MS + 10);
      expect(on()).to.equal(true);
      h.node.powerCut(1000);
      expect(on()).to.equal(false);
      h.node.stop();
    });

    it("with rtcSleepFast, times a deep sleep on a fast RTC: the chip wakes early and its clock has gained that share of the sleep", () => {
      const h = bootNode(iife(`print("at " + Date.now()); ESP32.deepSleep(100e6);`), { rtcSleepFast: 0.02 });
      h.node.start();
      h.clock.advance(BOOT_MS + 10);
      // it went to sleep as the boot ended, 10 ms ago
      const t0 = h.clock.now(), rtc0 = h.node.rtcNow();
      // asleep 100 s by its RTC: 98.04 s of real time
      h.clock.advance(100_000 / 1.02 - 30);
      expect(h.node.powerState).to.equal("asleep");
      h.clock.advance(40);
      expect(h.node.powerState).to.not.equal("asleep");
      // awake, its clock runs with real time (the crystal), 1.96 s ahead
      expect(h.node.rtcNow() - h.clock.now() - (rtc0 - t0)).to.be.closeTo(100_000 - 100_000 / 1.02, 0.01);
      h.node.stop();
    });

    it("converts deepSleep's argument to a C int like the ESP32 build: too long wraps", () => {
      expect(toInt32(2147483647)).to.equal(2147483647);
      expect(toInt32(2147483648)).to.equal(-2147483648);
      expect(toInt32(4294967296 + 5e6)).to.equal(5e6);
      expect(toInt32(3e9)).to.equal(3e9 - 4294967296);
      expect(toInt32(12.9)).to.equal(12);
      expect(toInt32(NaN)).to.equal(0);

      // 71.6 min + 5 s wraps to 5 s
      const wrap = bootNode(iife(`if (ESP32.getWakeupCause() === 4) print("woke at " + getTime()); else ESP32.deepSleep(4294967296 + 5e6);`));
      wrap.node.start();
      wrap.clock.advance(BOOT_MS + 5000 + BOOT_MS + 10);
      expect(wrap.out()).to.include("woke at");
      expect(wrap.node.stats.deepSleepOverflows).to.equal(1);
      wrap.node.stop();

      // 50 min: a negative int, a huge uint64 in ESP-IDF: the node does not come back
      const never = bootNode(iife(`if (ESP32.getWakeupCause() === 4) print("woke"); else ESP32.deepSleep(3e9);`));
      never.node.start();
      never.clock.advance(6 * 3600_000);
      expect(never.out()).to.not.include("woke");
      expect(never.node.powerState).to.equal("asleep");
      never.node.stop();

      // the longest legal sleep: 2147.48 s
      const max = bootNode(iife(`if (ESP32.getWakeupCause() === 4) print("woke"); else ESP32.deepSleep(2147483647);`));
      max.node.start();
      max.clock.advance(BOOT_MS + 2147483.647 - 1);
      expect(max.node.powerState).to.equal("asleep");
      max.clock.advance(1 + BOOT_MS);
      expect(max.out()).to.include("woke");
      max.node.stop();
    });
  });

  describe("timers", () => {
    it("numbers timers like Espruino, refuses clearTimeout(undefined), clears all with no argument (measured)", () => {
      const h = bootNode(iife(`
        var t0 = Date.now(), log = [];
        var a = setTimeout(function () {}, 1000), b = setTimeout(function () {}, 1000);
        var c = setInterval(function () { log.push(Date.now() - t0); if (log.length === 3) { clearInterval(c); print("ticks " + log.join(",")); } }, 250);
        clearTimeout(b);
        var d = setTimeout(function () {}, 10);
        print("ids " + [a, b, c, d].join(","));
        try { clearTimeout(undefined); } catch (e) { print("err " + e.message + " " + (e instanceof Error)); }
        clearTimeout(99);
        setTimeout(function () { clearTimeout(); var e = setTimeout(function () { print("never"); }, 5); print("after clear-all id " + e); clearTimeout(); }, 2000);
        setTimeout(function (x, y) { print("args " + x + y); }, 100, "p", "q");`));
      h.node.start();
      h.clock.advance(5000);
      const out = h.out();
      expect(out).to.include("ids 1,2,3,4\n");
      expect(out).to.include("err clearTimeout(undefined) not allowed. Use clearTimeout() instead true\n");
      expect(out).to.include("ticks 250,500,750\n");
      expect(out).to.include("after clear-all id 1\n");
      expect(out).to.include("args pq\n");
      expect(out).to.not.include("never");
      h.node.stop();
    });

    it("changeInterval restarts the period; setTimeout with no delay still waits a tick", () => {
      const h = bootNode(iife(`
        var t0 = Date.now(), n = 0;
        var i = setInterval(function () { n++; print("tick " + (Date.now() - t0)); if (n === 1) changeInterval(i, 400); if (n === 3) clearInterval(i); }, 100);
        var order = [];
        setTimeout(function () { order.push("timer"); print(order.join(">")); });
        order.push("sync");`));
      h.node.start();
      h.clock.advance(2000);
      expect(lines(h.out(), "tick ")).to.deep.equal(["tick 100", "tick 500", "tick 900"]);
      expect(h.out()).to.include("sync>timer");
      h.node.stop();
    });
  });

  describe("time", () => {
    it("starts the ESP32 RTC at 1970 on power-on, keeps it through deep sleep, loses it in a power cut", () => {
      const h = bootNode(iife(`
        var S = require("Storage");
        print("t " + Math.round(getTime()) + " y " + new Date().getFullYear() + " now " + Math.round(Date.now() / 1000));
        if (!S.read("set")) { setTime(1768464000); S.write("set", "1"); }
        setTimeout(function () { ESP32.deepSleep(100e6); }, 1000);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 10);
      expect(h.out()).to.include("t 0 y 1970 now 0\n");
      h.clock.advance(110_000);
      expect(h.out()).to.match(/t 1768464101 y 2026 now 1768464101\n/); // set at boot, then 1 s awake, 100 s asleep, boot
      h.node.powerCut(1000, { tear: false });
      h.clock.advance(1000 + BOOT_MS + 10);
      expect(lines(h.out(), "t ").at(-1)).to.equal("t 0 y 1970 now 0");
      h.node.stop();
    });

    it("follows the virtual clock exactly with rtc 'synced', on Linux, and after setSNTP", () => {
      const h = bootNode(iife(`print("now " + Date.now() + " " + new Date().toISOString());`), { rtc: "synced" });
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.out()).to.include(`now ${START_MS + BOOT_MS} ${new Date(START_MS + BOOT_MS).toISOString()}`);
      h.node.stop();
      const l = bootNode(iife(`print("now " + Date.now());`), { chip: "linux" });
      l.node.start();
      l.clock.advance(BOOT_MS + 1);
      expect(l.out()).to.include(`now ${START_MS + BOOT_MS}`);
      l.node.stop();
    });

    it("shows local time with E.setTimeZone and prints dates as Espruino does", () => {
      const h = bootNode(iife(`
        setTime(1768464000); // 2026-01-15 08:00:00 UTC
        E.setTimeZone(1);
        var d = new Date();
        print(d.getHours() + " " + d.getUTCHours() + " " + d.getTimezoneOffset() + " " + d.toString());
        var l = new Date(2026, 0, 15, 9, 30);
        print(l.toISOString());`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.out()).to.include("9 8 -60 Thu Jan 15 2026 09:00:00 GMT+0100\n");
      expect(h.out()).to.include("2026-01-15T08:30:00.000Z\n");
      h.node.stop();
    });
  });

  describe("pins", () => {
    it("gives watch events edge times on getTime's scale, filters edges, stops after one without repeat", () => {
      const h = bootNode(iife(`
        setTime(1000);
        pinMode(D14, "input");
        setWatch(function (e) { print("both " + e.state + " " + Math.round((e.time - e.lastTime) * 1e6) + " " + e.pin + " " + (Math.abs(e.time - getTime()) < 1e-6)); }, D14, { repeat: true, edge: "both" });
        setWatch(function (e) { print("fall " + e.state); }, D14, { repeat: true, edge: "falling" });
        setWatch(function (e) { print("once " + e.state); }, D14, { edge: "rising" });`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1000);
      h.node.pins.drive("D14", true);
      h.clock.advance(0.58); // a 580 us echo
      h.node.pins.drive("D14", false);
      h.clock.advance(10);
      h.node.pins.drive("D14", true);
      h.clock.advance(10);
      const out = h.out();
      expect(out).to.include("both false 580 D14 true\n");
      expect(lines(out, "fall ")).to.deep.equal(["fall false"]);
      expect(lines(out, "once ")).to.deep.equal(["once true"]);
      expect(lines(out, "both ").length).to.equal(3);
      h.node.stop();
    });

    it("maps Pin objects, digitalWrite/Read, pinMode, analogRead and digitalPulse onto the pin bank", () => {
      const h = bootNode(iife(`
        D5.set(); print("r " + D5.read() + " " + digitalRead(D5) + " " + D5 + " " + Pin(5).getInfo().num + " " + (Pin("D5") === D5));
        D5.reset(); print("r " + digitalRead("D5"));
        pinMode(D4, "input_pullup"); print("pu " + digitalRead(D4) + " " + getPinMode(D4));
        print("a " + analogRead(D35).toFixed(3));
        digitalPulse(D13, 1, 0.01);
        try { digitalWrite(D99, 1); } catch (e) { print("bad " + e.message); }`));
      h.node.pins.setVoltage("D35", 1.65);
      const seen: Array<[boolean, number]> = [];
      h.node.pins.onChange("D13", (high, t) => seen.push([high, t]));
      h.node.start();
      h.clock.advance(BOOT_MS + 5);
      const out = h.out();
      expect(out).to.include("r true 1 D5 5 true\n");
      expect(out).to.include("r 0\n");
      expect(out).to.include("pu 1 input_pullup\n");
      expect(out).to.include("a 0.500\n");
      expect(out).to.match(/bad /);
      expect(seen.map((s) => s[0])).to.deep.equal([true, false]);
      expect(seen[1][1] - seen[0][1]).to.be.closeTo(0.01, 1e-3);
      h.node.stop();
    });
  });

  describe("the dialect", () => {
    it("removes what Espruino lacks: a bundle using Map fails as on the board", () => {
      const h = bootNode(iife(`var m = new Map(); m.set("a", 1); print("map ok");`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.out()).to.include("Uncaught ReferenceError: Map is not defined\n");
      expect(h.out()).to.not.include("map ok");
      expect(h.node.stats.crashes).to.equal(1);
      expect(h.node.stats.lastError).to.equal("ReferenceError: Map is not defined");
      h.node.stop();
    });

    it("leaves every measured gap undefined in the node's context, and what Espruino has in place", () => {
      const h = bootNode(iife(`setInterval(function () {}, 1000);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      const ctx = h.node.context!;
      const g = vm.runInContext("globalThis", ctx);
      for (const where of Object.keys(MISSING_IN_ESPRUINO)) {
        const holder = builtinHolder(g, where);
        for (const name of MISSING_IN_ESPRUINO[where]) {
          if (NOT_REMOVABLE.includes(`${where}.${name}`)) continue;
          expect(holder[name], `${where}.${name}`).to.equal(undefined);
        }
      }
      const present = vm.runInContext(
        `[typeof Promise, typeof Object.assign, typeof [].find, typeof [].includes, typeof "".padStart, typeof JSON.parse, typeof Uint8Array, typeof DataView, typeof Date.parse, typeof Math.sign, typeof Object.setPrototypeOf, "a-b".replace(/-/g, "+")].join()`,
        ctx,
      );
      expect(present).to.equal("function,function,function,function,function,function,function,function,function,function,function,a+b");
      expect(refuseMissing(vm.runInContext("globalThis", vm.createContext({})))).to.deep.equal(NOT_REMOVABLE);
      h.node.stop();
    });
  });

  describe("the console", () => {
    it("evaluates REPL lines in the node and prints '=value' like Espruino", () => {
      const h = bootNode(iife(`global.state = { n: 3, name: "pole" };`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      h.node.consoleInput("1+1");
      h.node.consoleInput("state");
      h.node.consoleInput("state.n * 2");
      h.node.consoleInput("null.x");
      h.node.consoleInput("D5");
      expect(h.out()).to.include('=2\n={ n: 3, \n  name: "pole"\n }\n=6\nUncaught TypeError: ');
      expect(h.out()).to.include("=D5\n");
      expect(h.node.stats.crashes).to.equal(0); // a typo on the console is not a crash
      h.node.stop();
    });

    it("locks the console behind E.setPassword/E.lockConsole", () => {
      const h = bootNode(iife(`E.setPassword("pw1234"); E.lockConsole(); global.secret = 42;`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      h.node.consoleInput("secret");
      expect(h.out()).to.include("Invalid password");
      expect(h.out()).to.not.include("=42");
      h.node.consoleInput("pw1234");
      expect(h.out()).to.include("Logged in.");
      h.node.consoleInput("secret");
      expect(h.out()).to.include("=42\n");
      h.node.stop();
    });

    it("checks the first 20 characters typed at the password prompt, as Espruino's src/jsinteractive.c keeps no more", () => {
      const h = bootNode(iife(`E.setPassword("${"p".repeat(20)}"); E.lockConsole();`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      h.node.consoleInput("p".repeat(25));
      expect(h.out()).to.include("Logged in.");
      h.node.stop();
    });

    it("hands console lines to Serial1 listeners once the console is moved off Serial1; print() goes nowhere then (as on 2v29)", () => {
      const h = bootNode(
        iife(`E.setConsole(null, {force: true}); Serial1.on("data", function (d) { print("dropped"); Serial1.write("got " + JSON.stringify(d) + "\\n"); if (d === "back\\r") E.setConsole(Serial1, {force: true}); });`),
      );
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      h.node.consoleInput("\x10status");
      expect(h.out()).to.include('got "\\u0010status\\r"\n');
      expect(h.out()).to.not.include("dropped");
      expect(h.out()).to.include("-> null\n");
      h.node.consoleInput("back");
      expect(h.out()).to.include("<- null\n");
      h.node.consoleInput("1+1");
      expect(h.out()).to.include("=2\n");
      h.node.stop();
    });

    it("ignores input while the node sleeps (nobody reads the UART)", () => {
      const h = bootNode(iife(`ESP32.deepSleep(60e6);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      h.node.consoleInput("1+1");
      expect(h.out()).to.not.include("=2");
      h.node.stop();
    });
  });

  describe("errors", () => {
    it("prints uncaught exceptions in callbacks and goes on, counting them", () => {
      const h = bootNode(iife(`
        setTimeout(function () { throw new Error("boom"); }, 100);
        setTimeout(function () { throw "plain"; }, 200);
        setTimeout(function () { print("still running"); }, 300);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 400);
      expect(h.out()).to.include("Uncaught Error: boom\nUncaught plain\nstill running\n");
      expect(h.node.stats.crashes).to.equal(2);
      expect(h.node.stats.lastError).to.equal("plain");
      h.node.stop();
    });

    it("hands uncaught exceptions to process.on('uncaughtException') when the firmware listens", () => {
      const h = bootNode(iife(`
        process.on("uncaughtException", function (e) { print("handled " + e.message); if (e.message === "twice") throw new Error("in handler"); });
        setTimeout(function () { throw new Error("once"); }, 100);
        setTimeout(function () { throw new Error("twice"); }, 200);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 300);
      expect(h.out()).to.include("handled once\nhandled twice\nUncaught Error: in handler\n");
      expect(h.node.stats.crashes).to.equal(1);
      h.node.stop();
    });

    it("runs promise callbacks at the same virtual instant and reports unhandled rejections", async () => {
      const h = bootNode(iife(`
        setTimeout(function () {
          var t = Date.now();
          Promise.resolve().then(function () { print("then same time " + (Date.now() === t)); });
          print("callback");
          Promise.reject(new Error("nope"));
        }, 100);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 100);
      expect(h.out()).to.include("callback\nthen same time true\n");
      await flush();
      await flush();
      expect(h.out()).to.include("Uncaught Error: Unhandled promise rejection: Error: nope\n");
      expect(h.node.stats.crashes).to.equal(1);
      h.node.stop();
    });

    it("throws Espruino errors in the node's realm, so instanceof Error holds", () => {
      const h = bootNode(iife(`
        try { require("Storage").write("x", "abc", 5); } catch (e) { print("storage " + (e instanceof Error) + " " + e.message); }
        try { require("foo"); } catch (e) { print("require " + e.message); }
        try { I2C1.setup({ scl: D22, sda: D21 }); I2C1.readFrom(0x48, 2); } catch (e) { print("i2c " + (e instanceof Error) + " " + e.message); }`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.out()).to.include("storage true Unable to find or create file\n");
      expect(h.out()).to.include('require Module "foo" not found\n');
      expect(h.out()).to.include("i2c true I2C Error: No ACK\n");
      h.node.stop();
    });
  });

  describe("watchdog", () => {
    it("resets a node that stops kicking (manual mode); wake cause is 0 again", () => {
      const h = bootNode(iife(`print("boot cause " + ESP32.getWakeupCause()); E.enableWatchdog(5, false);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 4900);
      expect(h.node.stats.watchdogResets).to.equal(0);
      h.clock.advance(200);
      expect(h.node.stats.watchdogResets).to.equal(1);
      h.clock.advance(BOOT_MS + 10);
      expect(h.node.stats.boots).to.equal(2);
      expect(lines(h.out(), "boot cause ")).to.deep.equal(["boot cause 0", "boot cause 0"]);
      expect(h.out()).to.include("rst:0x8 (TG1WDT_SYS_RESET)");
      h.node.stop();
    });

    it("takes a shorter timeout at once when re-enabled", () => {
      const h = bootNode(iife(`E.enableWatchdog(60, false); E.enableWatchdog(5, false);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 5001);
      expect(h.node.stats.watchdogResets).to.equal(1);
      h.node.stop();
    });

    it("does not bite while kicked, nor in automatic mode", () => {
      const kicked = bootNode(iife(`E.enableWatchdog(5, false); setInterval(function () { E.kickWatchdog(); }, 2000);`));
      kicked.node.start();
      kicked.clock.advance(60_000);
      expect(kicked.node.stats.watchdogResets).to.equal(0);
      kicked.node.stop();
      const auto = bootNode(iife(`E.enableWatchdog(2);`));
      auto.node.start();
      auto.clock.advance(60_000);
      expect(auto.node.stats.watchdogResets).to.equal(0);
      auto.node.stop();
    });
  });

  describe("power cuts", () => {
    const writer = iife(`
      var S = require("Storage");
      var n = (S.readJSON("n.json", true) || { n: 0 }).n;
      print("boot n=" + n);
      setInterval(function () { n++; S.writeJSON("n.json", { n: n }); S.write("blob", "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq" + n); }, 1000);`);

    it("keeps Storage and restarts from power-on after the supply returns", () => {
      const h = bootNode(writer);
      h.node.start();
      h.clock.advance(BOOT_MS + 5500);
      h.node.powerCut(2000, { tear: false });
      expect(h.node.powerState).to.equal("off");
      h.clock.advance(1999);
      expect(h.node.powerState).to.equal("off");
      h.clock.advance(1 + BOOT_MS + 10);
      expect(lines(h.out(), "boot n=")).to.deep.equal(["boot n=0", "boot n=5"]);
      expect(h.node.stats.powerCuts).to.equal(1);
      expect(h.node.stats.boots).to.equal(2);
      expect(h.node.stats.offMs).to.equal(2000);
      expect(h.node.trace.filter((t) => t.state === "power-cut").map((t) => t.on)).to.deep.equal([true, false]);
      h.node.stop();
    });

    it("a cut inside a write tears it: header kept, data partly 0xFF, the node dies at once", () => {
      const h = bootNode(writer);
      h.node.start();
      h.clock.advance(BOOT_MS + 2500);
      const before = h.node.storage.read("n.json");
      h.node.powerCut(1000, { tear: true });
      expect(h.node.powerState).to.equal("awake"); // the cut lands on the next write
      h.clock.advance(1000);
      expect(h.node.powerState).to.equal("off");
      expect(h.node.stats.tornWrites).to.equal(1);
      const torn = h.node.storage.read("n.json");
      // old file intact, gone, or a new header with a prefix of the new JSON and 0xFF after it
      if (torn !== undefined && torn !== before) expect(torn).to.match(/^[^\xff]*\xff+$/);
      expect(torn === undefined || torn === before || torn.includes("\xff")).to.equal(true);
      h.clock.advance(1000 + BOOT_MS + 10);
      expect(h.node.stats.boots).to.equal(2);
      h.node.stop();
    });
  });

  describe("a dead node stays dead", () => {
    it("code that catches the torn write's exception can do nothing more", () => {
      const h = bootNode(iife(`
        var S = require("Storage");
        setInterval(function () {
          try { S.write("log", "entry " + Date.now()); }
          catch (e) { S.write("after", "x"); print("caught"); }
        }, 1000);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1500);
      h.node.powerCut(60_000, { tear: true });
      h.clock.advance(1000);
      expect(h.node.powerState).to.equal("off");
      expect(h.out()).to.not.include("caught");
      expect(h.node.storage.read("after")).to.equal(undefined);
      h.node.stop();
    });
  });

  describe("memory", () => {
    it("estimates JsVars from the code and what the globals hold; E.getSizeOf sizes values", () => {
      const h = bootNode(iife(`
        global.keep = [];
        print("size " + E.getSizeOf([1, 2, 3]) + " " + E.getSizeOf({ a: 1.5 }));
        var m0 = process.memory();
        for (var i = 0; i < 100; i++) keep.push({ x: i, y: "hello" });
        var m1 = process.memory();
        print("grew " + (m1.usage - m0.usage) + " total " + m1.total + " free " + (m1.total - m1.usage === m1.free));`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.out()).to.include("size 4 3\n");
      expect(h.out()).to.include("grew 500 total 16383 free true\n");
      h.node.stop();
    });

    it("stops a node that runs out of its 16383 vars, like Espruino's OUT OF MEMORY", () => {
      const h = bootNode(iife(`
        global.hog = [];
        setInterval(function () { for (var i = 0; i < 1000; i++) hog.push({ v: i * 1.5 }); var m = process.memory(); print("usage " + m.usage); }, 100);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 2000);
      expect(h.out()).to.include("OUT OF MEMORY\nExecution Interrupted\n");
      expect(h.node.powerState).to.equal("halted");
      expect(h.node.stats.outOfMemory).to.equal(1);
      expect(h.node.stats.lastError).to.match(/^Out of Memory/);
      const printed = lines(h.out(), "usage ").length;
      h.clock.advance(2000);
      expect(lines(h.out(), "usage ").length).to.equal(printed); // the code does not run any more
      h.node.stop();
    });
    it("checks memory at boot: a bundle that builds too much stops there; a manual watchdog then resets it", () => {
      const h = bootNode(iife(`
        E.enableWatchdog(10, false);
        global.table = [];
        for (var i = 0; i < 9000; i++) table.push({ v: i + 0.5 });
        print("built");`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.out()).to.include("built\nOUT OF MEMORY\nExecution Interrupted\n");
      expect(h.node.powerState).to.equal("halted");
      h.clock.advance(10_000 + BOOT_MS);
      expect(h.node.stats.watchdogResets).to.equal(1);
      expect(h.node.stats.outOfMemory).to.equal(2); // it boots into the same wall again
      h.node.stop();
    });
  });

  describe("energy", () => {
    it("integrates board current over awake and asleep time and traces the states", () => {
      const h = bootNode(iife(`setTimeout(function () { ESP32.deepSleep(59e6); }, 1000);`));
      h.node.start();
      h.clock.advance(600_000);
      h.node.updateEnergy();
      const s = h.node.stats;
      expect(s.awakeMs + s.asleepMs).to.equal(600_000);
      const cycles = h.node.stats.wakes + 1;
      expect(s.awakeMs).to.be.closeTo(cycles * (BOOT_MS + 1000), BOOT_MS + 1000);
      expect(s.chargeMah).to.be.closeTo((s.awakeMs * 40 + s.asleepMs * 0.1) / 3_600_000, 1e-9);
      const awake = h.node.trace.filter((t) => t.state === "awake");
      expect(awake[0]).to.deep.include({ on: true, t: START_MS });
      for (let i = 1; i < awake.length; i++) expect(awake[i].on).to.equal(!awake[i - 1].on);
      h.node.stop();
    });
  });

  describe("devices and energy", () => {
    it("traces a switched sensor's power and prices its current", () => {
      const spec: DeviceSpec = {
        name: "bin",
        model: "a02yyuw",
        bus: { kind: "serial", port: "Serial2", tx: "D17", rx: "D16", baud: 9600 },
        power: { pin: "D25", activeHigh: true },
        currentMa: { on: 8, off: 0 },
      };
      const h = bootNode(iife(`digitalWrite(D25, 1); setTimeout(function () { digitalWrite(D25, 0); }, 30000);`), { devices: [spec] });
      h.node.start();
      h.clock.advance(60_000);
      h.node.updateEnergy();
      const t = h.node.trace.filter((x) => x.state === "sensor:bin");
      expect(t.map((x) => [x.t - START_MS, x.on])).to.deep.equal([
        [BOOT_MS, true],
        [BOOT_MS + 30_000, false],
      ]);
      const sensorMa = h.node.devices.bin.currentMa();
      expect(sensorMa).to.equal(0);
      const boardOnly = (60_000 * 40) / 3_600_000;
      expect(h.node.stats.chargeMah - boardOnly).to.be.closeTo((A02_CURRENT_MA * 30_000) / 3_600_000, 1e-9); // the sensor drew for its 30 s
      h.node.stop();
    });
  });

  describe("E, crypto, process and modules", () => {
    it("answers like Espruino (values measured on 2v29)", () => {
      const h = bootNode(iife(`
        try { require("crypto"); print("crypto present"); } catch (e) { print("crypto: " + e.message); }
        print("crc " + E.CRC32("hello") + " " + E.CRC32([1, 2, 3]));
        print("str " + E.toString(65, "BC", [68, 69], new Uint8Array([70])));
        print("u8 " + E.toUint8Array("AB", [1, 2], 3).join(","));
        print("b64 " + btoa("hello") + " " + atob("aGVsbG8="));
        print("proc " + process.version + " " + process.env.BOARD + " " + typeof ESP32 + " " + typeof require("Wifi").connect);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      const out = h.out();
      // the stock ESP32 build (ESP32_IDF4) is built without CRYPTO: firmware must not count on it
      expect(out).to.include('crypto: Module "crypto" not found\n');
      expect(out).to.include("crc 907060870 1438416925\n");
      expect(out).to.include("str ABCDEF\n");
      expect(out).to.include("u8 65,66,1,2,3\n");
      expect(out).to.include("b64 aGVsbG8= hello\n");
      expect(out).to.include("proc 2v29 ESP32 object function\n");
      h.node.stop();
    });

    it("has no ESP32 and no Wifi on the Linux build", () => {
      const h = bootNode(iife(`print(typeof ESP32 + " " + process.env.BOARD); try { require("Wifi"); } catch (e) { print(e.message); }`), { chip: "linux" });
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.out()).to.include('undefined LINUX\nModule "Wifi" not found\n');
      h.node.stop();
    });

    it("cuts Storage names to 28 chars as Espruino does, and says so", () => {
      const h = bootNode(iife(`require("Storage").write("a-very-long-storage-file-name.json", "x"); print(require("Storage").list(/very/)[0]);`));
      h.node.start();
      h.clock.advance(BOOT_MS + 1);
      expect(h.out()).to.include("a-very-long-storage-file-nam\n");
      expect(h.node.storage.truncatedNames).to.deep.equal(["a-very-long-storage-file-name.json"]);
      h.node.stop();
    });
  });
});
