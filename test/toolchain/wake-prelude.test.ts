// The wake prelude (toolchain/wake-prelude.ts): what each board's image runs before its bundle.
import { expect } from "chai";
import vm from "node:vm";
import { readFileSync } from "node:fs";
import { wakePrelude } from "../../toolchain/wake-prelude.js";
import { untokenise } from "../../toolchain/pretokenise.mjs";
import { boardNames } from "../../toolchain/boards.mjs";
import type { BoardProfile, DeviceSpec } from "../../firmware/board.js";
import { FieldError } from "../../toolchain/field-error.js";

const profileOf = async (name: string): Promise<BoardProfile> => (await import(`../../boards/profiles/${name}.ts`)).profile;
const imageOf = (name: string) => untokenise(readFileSync(`dist/${name}.js`, "latin1"));

/** a planned upload wake's join (firmware/uplink/early-join.ts), in every battery ESP32 board's prelude */
const JOIN =
  'try{(function(){var j=require("Storage").readJSON("cn.join",1);if(!j||!(Date.now()>=j.at-60000))return;' +
  'var W=require("Wifi"),g=global.cnJoin={t0:Date.now(),ip:!!j.ip};' +
  'if(j.ip)W.setIP({ip:j.ip,gw:j.gw,netmask:j.nm},function(r){g.ipOk=r!==null});' +
  'W.connect(j.s,{password:j.p},function(e){g.e=e||null;if(g.cb)g.cb(g.e)})})()}catch(e){global.cnJoin=undefined}\n';

/** what the RTC gained in the sleep that ended, from the rate SNTP measured (firmware/runtime/rtc-rate.ts), first */
const RTC =
  'var W=Date.now(),C=0,R=0;try{var K=require("Storage").readJSON("cn.rtc",1),t=W-250;if(K&&ESP32.getWakeupCause()==4&&t>K.a){R=K.r;C=(t-K.a)*R/(1+R)}}catch(e){}\n';
/** and taken off the clock after the devices (a warm-up wake's sleep leaves it to the next wake); the first statement's time, for the energy books */
const SET = "try{if(C)setTime((Date.now()-C)/1000);global.cnW=W-C}catch(e){}\n";

/**
 * esp32-air's warm-up wake (firmware/runtime/warm-asleep.ts): sleeps 9.5 s with the SDS011 on,
 * before the bundle; the wake after it is credited 95 % of that (the RTC's tolerance)
 */
const WARM =
  'var P=require("Storage").readJSON("cn.warm",1),c=ESP32.getWakeupCause()==4,o=n;' +
  "if(P&&c&&P.s==9500&&n>P.at-5000&&n<P.at+P.s/2)ESP32.deepSleep(P.s*1000*(1+R));" +
  "if(P&&c&&P.s==9500&&n>=P.at+P.s/2&&n<P.at+P.s+60000)o=n-9025";

describe("wake prelude", () => {
  it("a battery board sets up the A02YYUW's UART, then switches its supply on (the SDS011's alone, with the time), then starts a planned upload's join, outside the bundle", async () => {
    const expected: { [board: string]: string } = {
      // a rising edge sets the SDS011's latch; the warm-ups count from here (global cnOn), the
      // SDS011's from the time slept with it on if this wake follows a warm-up wake (WARM)
      "esp32-air": RTC + 'try{digitalWrite(D25,1);digitalWrite(D25,0);digitalWrite(D27,1);var n=Date.now()-C;' + WARM + ';global.cnOn={"pm":o,"noise":n}}catch(e){}\n' + SET + JOIN,
      "esp32-bin": RTC + "try{Serial2.setup(9600,{rx:D16,tx:D17});digitalWrite(D25,1)}catch(e){}\n" + SET + JOIN,
      // its mode pin is low before the supply comes on: the module samples it at power-up
      "esp32-bin-lp": RTC + "try{Serial2.setup(9600,{rx:D16,tx:D17});digitalWrite(D26,0);digitalWrite(D25,1)}catch(e){}\n" + SET + JOIN,
    };
    for (const name of Object.keys(expected)) {
      const text = wakePrelude(await profileOf(name));
      expect(text, name).to.equal(expected[name]);
      expect(imageOf(name).startsWith(text + "!function(){")).to.equal(true);
    }
  });

  it("the other battery boards start the join alone; a mains board's image is the bundle alone", async () => {
    for (const name of boardNames().filter((n) => !/^esp32-(bin|bin-lp|air)$/.test(n))) {
      const p = await profileOf(name), want = p.power.source === "battery" ? RTC + SET + JOIN : "";
      expect(wakePrelude(p), name).to.equal(want);
      expect(imageOf(name).startsWith(want + "!function(){"), name).to.equal(true);
    }
    expect(boardNames().filter((n) => imageOf(n).startsWith(RTC + SET + JOIN))).to.include.members(["esp32-bin-sr04"]);
  });

  it("never stops the boot where the pins, ports or Wi-Fi are missing (Espruino's Linux build), and leaves no join behind", async () => {
    const text = wakePrelude(await profileOf("esp32-bin-lp"));
    const plan = { at: 1_000_000, s: "street", p: "secret", ip: "192.168.4.9", gw: "192.168.4.1", nm: "255.255.255.0" };
    const storage = { readJSON: (name: string) => (name === "cn.join" ? plan : undefined) };
    const linux: any = { require: (m: string) => { if (m === "Storage") return storage; throw new Error("Module " + m + " not found"); }, Date: { now: () => plan.at } };
    linux.global = linux;
    expect(() => vm.runInContext(text, vm.createContext(linux))).to.not.throw();
    expect(linux.cnJoin).to.equal(undefined);
    expect(() => vm.runInContext(text, vm.createContext({ global: {} }))).to.not.throw();
  });

  it("where they exist: the pins and port in order, then setIP and connect if the plan is due (from a minute before its time)", async () => {
    const text = wakePrelude(await profileOf("esp32-bin-lp"));
    const run = (plan: object | undefined, now: number) => {
      const calls: string[] = [];
      const wifi = {
        setIP: (o: any, cb: (r: string | null) => void) => { calls.push(`setIP ${o.ip} ${o.gw} ${o.netmask}`); wifi.ipAnswer = cb; },
        connect: (s: string, o: any, cb: (e: string | null) => void) => { calls.push(`connect ${s} ${o.password}`); wifi.answer = cb; },
        ipAnswer: undefined as any, answer: undefined as any,
      };
      const pins = Object.fromEntries(["D16", "D17", "D25", "D26"].map((p) => [p, p]));
      const ctx: any = {
        ...pins, Serial2: { setup: (b: number, o: any) => calls.push(`setup ${b} ${o.rx} ${o.tx}`) }, digitalWrite: (p: string, v: number) => calls.push(`write ${p} ${v}`),
        require: (m: string) => (m === "Storage" ? { readJSON: (n: string) => (n === "cn.join" ? plan : undefined) } : m === "Wifi" ? wifi : undefined),
        Date: { now: () => now },
      };
      ctx.global = ctx;
      vm.runInContext(text, vm.createContext(ctx));
      return { calls, ctx, wifi };
    };
    const device = ["setup 9600 D16 D17", "write D26 0", "write D25 1"];
    const at = 1_800_000_000_000, plan = { at, s: "street", p: "secret", ip: "192.168.4.9", gw: "192.168.4.1", nm: "255.255.255.0" };
    expect(run(undefined, at).calls).to.deep.equal(device);
    expect(run(plan, at - 61_000).calls).to.deep.equal(device);
    const due = run(plan, at - 60_000);
    expect(due.calls).to.deep.equal([...device, "setIP 192.168.4.9 192.168.4.1 255.255.255.0", "connect street secret"]);
    expect(due.ctx.cnJoin).to.deep.include({ t0: at - 60_000, ip: true });
    // the answers, as events after the image has run: setIP's inverted one, then connect's to whoever waits
    due.wifi.ipAnswer("Failure");
    const got: Array<string | null> = [];
    due.ctx.cnJoin.cb = (e: string | null) => got.push(e);
    due.wifi.answer(null);
    expect(due.ctx.cnJoin).to.deep.include({ ipOk: true, e: null });
    expect(got).to.deep.equal([null]);
    // DHCP: no address in the plan
    const dhcp = run({ at, s: "street", p: "secret" }, at + 5_000);
    expect(dhcp.calls.slice(3)).to.deep.equal(["connect street secret"]);
    dhcp.wifi.answer("Bad password");
    expect(dhcp.ctx.cnJoin).to.deep.include({ ip: false, e: "Bad password" });
  });

  it("leaves the SDS011's power-on time where the pins exist, and none where they do not (Espruino's Linux build)", async () => {
    const text = wakePrelude(await profileOf("esp32-air"));
    const writes: string[] = [];
    const chip: any = { D25: "D25", D27: "D27", digitalWrite: (p: string, v: number) => writes.push(`${p} ${v}`), Date: { now: () => 1_800_000_000_250 }, require: () => ({ readJSON: () => undefined }), ESP32: { getWakeupCause: () => 0 } };
    chip.global = chip;
    vm.runInContext(text, vm.createContext(chip));
    expect(writes).to.deep.equal(["D25 1", "D25 0", "D27 1"]);
    expect(chip.cnOn).to.deep.equal({ pm: 1_800_000_000_250, noise: 1_800_000_000_250 });
    const linux: any = { Date: { now: () => 5 }, require: () => ({ readJSON: () => undefined }) };
    linux.global = linux;
    vm.runInContext(text, vm.createContext(linux));
    expect(linux.cnOn).to.equal(undefined);
  });

  it("esp32-air: a timer wake at the warm-up plan's time sleeps the plan's 9.5 s with the SDS011's latch set; the wake after it says the SDS011 has been on since 95 % of that before it (the RTC may run 5 % fast); any other wake counts from now", async () => {
    const text = wakePrelude(await profileOf("esp32-air"));
    const AT = 1_800_000_000_000;
    const run = (plan: object | undefined, now: number, cause = 4) => {
      const calls: string[] = [];
      const chip: any = {
        D25: "D25", D27: "D27",
        digitalWrite: (p: string, v: number) => calls.push(`${p} ${v}`),
        Date: { now: () => now },
        require: (m: string) => (m === "Storage" ? { readJSON: (f: string) => (f === "cn.warm" ? plan : undefined) } : { connect() {} }),
        // deepSleep does not return on the chip: the image stops there
        ESP32: { getWakeupCause: () => cause, deepSleep: (us: number) => { calls.push(`sleep ${us}`); throw new Error("asleep"); } },
      };
      chip.global = chip;
      try {
        vm.runInContext(text, vm.createContext(chip));
      } catch (e) {
        expect(String(e)).to.match(/asleep/);
      }
      return { calls, on: chip.cnOn };
    };
    const plan = { at: AT, s: 9500 };
    // the warm-up wake: the latch set, then 9 s asleep, from up to 5 s early
    for (const now of [AT - 4000, AT + 250, AT + 4000]) expect(run(plan, now).calls, String(now - AT)).to.deep.equal(["D25 1", "D25 0", "D27 1", "sleep 9500000"]);
    // the wake after it: on since now less 95 % of the time slept (never earlier than the real
    // power-on, with the RTC within its 5 %)
    const after = run(plan, AT + 250 + 9500 + 250);
    expect(after.calls).to.deep.equal(["D25 1", "D25 0", "D27 1"]);
    expect(after.on).to.deep.equal({ pm: AT + 10_000 - 9025, noise: AT + 10_000 });
    // not a timer wake (power-on, reset), a plan of another build, too early or long after: from now
    for (const [p, now, cause] of [[plan, AT + 250, 0], [{ at: AT, s: 8000 }, AT + 250, 4], [plan, AT - 6000, 4], [plan, AT + 9500 + 60_000, 4], [undefined, AT + 250, 4]] as Array<[object | undefined, number, number]>) {
      const r = run(p, now, cause);
      expect(r.calls, JSON.stringify([p, now - AT, cause])).to.deep.equal(["D25 1", "D25 0", "D27 1"]);
      expect(r.on).to.deep.equal({ pm: now, noise: now });
    }
  });

  it("refuses a device that cannot start at boot, saying why", async () => {
    const bin = await profileOf("esp32-bin-lp");
    const a02 = bin.devices[0];
    const board = (power: BoardProfile["power"], d: DeviceSpec): BoardProfile => ({ ...bin, power, devices: [d] });
    const cases: Array<[BoardProfile, RegExp]> = [
      [board({ source: "mains" }, a02), /not on a battery/],
      [board(bin.power, { ...a02, model: "pms5003" }), /its driver \(pms5003\) is not made to start before the bundle runs; drivers that are: a02yyuw, sds011, sen0232/],
      [board(bin.power, { ...a02, model: "constructor" }), /its driver \(constructor\) is not made/],
      [board(bin.power, { ...a02, power: undefined }), /has startAtBoot, which needs a switched supply/],
      [board(bin.power, { ...a02, bus: { kind: "i2c", port: "I2C1", scl: "D22", sda: "D21", address: 0x55 } }), /which for a02yyuw needs a serial bus: the prelude sets its UART up/],
      [board(bin.power, { ...a02, power: { pin: "D25", activeHigh: true, offPin: "D25" } }), /a latched supply needs two pins, on \(D25\) and off \(offPin\)/],
      [board(bin.power, { ...a02, power: { pin: "D25", activeHigh: true, offPin: "D33);reset(" } }), /pin D33\);reset\( is not an ESP32 pin name/],
      [board(bin.power, { ...a02, power: { pin: "D25);reset(", activeHigh: true } }), /is not an ESP32 pin name/],
      [board(bin.power, { ...a02, options: { ...a02.options, modePin: "D26);reset(" } }), /pin D26\);reset\( is not an ESP32 pin name/],
    ];
    for (const [p, re] of cases) expect(() => wakePrelude(p)).to.throw(FieldError, re);
    expect(wakePrelude(board(bin.power, { ...a02, startAtBoot: false }))).to.equal(RTC + SET + JOIN);
  });

  it("refuses a warm-up slept through that the chip could not keep powered or time, saying why", async () => {
    const air = await profileOf("esp32-air");
    const pm = air.devices.find((d) => d.model === "sds011")!;
    const board = (d: DeviceSpec, more: Partial<BoardProfile> = {}): BoardProfile => ({ ...air, ...more, devices: [d] });
    const cases: Array<[BoardProfile, RegExp]> = [
      [board({ ...pm, power: { pin: "D25", activeHigh: true } }), /needs a latched supply \(power.offPin\): Espruino's ESP32.deepSleep holds no pin/],
      [board({ ...pm, startAtBoot: false }), /has sleepWarmingMs, which needs startAtBoot/],
      [board({ ...pm, sleepWarmingMs: 500 }), /sleepWarmingMs must be a whole number of ms, at least 1000, got 500/],
      [board({ ...pm, sleepWarmingMs: 1e3 + 0.5 }), /must be a whole number of ms/],
      [board(pm, { chip: "linux" }), /only an ESP32 deep-sleeps/],
      [{ ...air, devices: [pm, { ...pm, name: "pm2", bus: { ...pm.bus, port: "Serial3" } as DeviceSpec["bus"] }] }, /device pm2 has sleepWarmingMs, as pm has: one device a board may sleep through its warm-up/],
      [board({ ...air.devices.find((d) => d.model === "sen0232")!, sleepWarmingMs: 2000 }), /has sleepWarmingMs, which needs a latched supply/],
    ];
    for (const [p, re] of cases) expect(() => wakePrelude(p), String(re)).to.throw(FieldError, re);
  });
});

describe("wake prelude: the clock after a deep sleep on a fast RTC (firmware/runtime/rtc-rate.ts)", () => {
  const AT = 1_800_000_000_000;
  /** one boot of esp32-bin-lp's prelude: the RTC reads `now`; what it set the clock to, if it did */
  let lastChip: any;
  const run = async (rtc: object | undefined, now: number, cause = 4) => {
    const text = wakePrelude(await profileOf("esp32-bin-lp"));
    const set: number[] = [];
    const chip: any = {
      D16: "D16", D17: "D17", D25: "D25", D26: "D26", Serial2: { setup() {} }, digitalWrite() {},
      Date: { now: () => now },
      setTime: (s: number) => set.push(s * 1000),
      require: (m: string) => (m === "Storage" ? { readJSON: (f: string) => (f === "cn.rtc" ? rtc : undefined) } : { connect() {} }),
      ESP32: { getWakeupCause: () => cause },
    };
    chip.global = chip;
    lastChip = chip;
    vm.runInContext(text, vm.createContext(chip));
    return set;
  };

  it("a timer wake takes the rate's share of the time since the sleep began off the clock, before the bundle runs", async () => {
    // asked for 15 min * 1.02 by a chip whose RTC runs 2 % fast: the RTC counted 918 s in 900 real
    // ones, then the boot's fixed part (250 ms, on the crystal) ran before the prelude
    const set = await run({ a: AT, r: 0.02 }, AT + 918_250);
    expect(set).to.have.length(1);
    expect(set[0]).to.be.closeTo(AT + 900_250, 1);
    // the time the prelude ran, on the corrected clock, for the energy books (firmware/node.ts)
    expect(lastChip.cnW).to.be.closeTo(AT + 900_250, 1);
  });

  it("leaves the clock alone on a power-on or reset, with no rate known, or a plan from a later time", async () => {
    expect(await run({ a: AT, r: 0.02 }, AT + 918_000, 0)).to.deep.equal([]);
    expect(await run(undefined, AT + 918_000)).to.deep.equal([]);
    expect(await run({ a: AT, r: 0.02 }, AT - 5_000)).to.deep.equal([]);
  });
});
