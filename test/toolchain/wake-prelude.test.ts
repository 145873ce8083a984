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

describe("wake prelude", () => {
  it("a battery bin board sets up the A02YYUW's UART, then switches its supply on, outside the bundle", async () => {
    const expected: { [board: string]: string } = {
      "esp32-bin": "try{Serial2.setup(9600,{rx:D16,tx:D17});digitalWrite(D25,1)}catch(e){}\n",
      // its mode pin is low before the supply comes on: the module samples it at power-up
      "esp32-bin-lp": "try{Serial2.setup(9600,{rx:D16,tx:D17});digitalWrite(D26,0);digitalWrite(D25,1)}catch(e){}\n",
    };
    for (const name of Object.keys(expected)) {
      const text = wakePrelude(await profileOf(name));
      expect(text, name).to.equal(expected[name]);
      expect(imageOf(name).startsWith(text + "!function(){")).to.equal(true);
    }
  });

  it("every other board has none: its image is the bundle alone", async () => {
    for (const name of boardNames().filter((n) => !/^esp32-bin(-lp)?$/.test(n))) {
      expect(wakePrelude(await profileOf(name)), name).to.equal("");
      expect(imageOf(name).startsWith("!function(){"), name).to.equal(true);
    }
  });

  it("never stops the boot where the pins and ports are missing (Espruino's Linux build)", async () => {
    const text = wakePrelude(await profileOf("esp32-bin-lp"));
    const ctx = vm.createContext({});
    expect(() => vm.runInContext(text, ctx)).to.not.throw();
    // and it does what it says where they exist
    const calls: string[] = [];
    const pins = Object.fromEntries(["D16", "D17", "D25", "D26"].map((p) => [p, p]));
    vm.runInContext(text, vm.createContext({ ...pins, Serial2: { setup: (b: number, o: any) => calls.push(`setup ${b} ${o.rx} ${o.tx}`) }, digitalWrite: (p: string, v: number) => calls.push(`write ${p} ${v}`) }));
    expect(calls).to.deep.equal(["setup 9600 D16 D17", "write D26 0", "write D25 1"]);
  });

  it("refuses a device that cannot start at boot, saying why", async () => {
    const bin = await profileOf("esp32-bin-lp");
    const a02 = bin.devices[0];
    const board = (power: BoardProfile["power"], d: DeviceSpec): BoardProfile => ({ ...bin, power, devices: [d] });
    const cases: Array<[BoardProfile, RegExp]> = [
      [board({ source: "mains" }, a02), /not on a battery/],
      [board(bin.power, { ...a02, model: "sds011" }), /its driver \(sds011\) drops what it hears before a read/],
      [board(bin.power, { ...a02, power: undefined }), /needs a switched supply and a serial bus/],
      [board(bin.power, { ...a02, bus: { kind: "i2c", port: "I2C1", scl: "D22", sda: "D21", address: 0x55 } }), /needs a switched supply and a serial bus/],
      [board(bin.power, { ...a02, power: { pin: "D25);reset(", activeHigh: true } }), /is not an ESP32 pin name/],
      [board(bin.power, { ...a02, options: { ...a02.options, modePin: "D26);reset(" } }), /pin D26\);reset\( is not an ESP32 pin name/],
    ];
    for (const [p, re] of cases) expect(() => wakePrelude(p)).to.throw(FieldError, re);
    expect(wakePrelude(board(bin.power, { ...a02, startAtBoot: false }))).to.equal("");
  });
});
