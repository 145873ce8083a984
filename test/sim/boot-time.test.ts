// The ESP32 boot model (sim/boot-time.ts): the host's measured lexing, scaled to the chip.
import { expect } from "chai";
import { ESP32_MHZ, IPC_RATIO, BOOT_BASE_MS, esp32BootMs, type BootData } from "../../sim/boot-time.js";

describe("ESP32 boot model", () => {
  it("scales to the clock Espruino's ESP32 build runs at, 160 MHz (targets/esp32/IDF4/sdkconfig: CONFIG_ESP32_DEFAULT_CPU_FREQ_MHZ=160; nothing in targets/esp32 changes it at run time)", () => {
    expect(ESP32_MHZ).to.equal(160);
    // a 2400 MHz host lexing 1000 bytes in 100 ms: 100 x 2400 / 160 x IPC_RATIO on the chip
    const data: BootData = { method: "t", interpreter: "t", measuredAt: "t", hostMhz: 2400, trivialMs: 1, bundles: { x: { bytes: 1000, lexedBytes: 1000, scanMs: 100, ratio: 1 } } };
    expect(esp32BootMs(1000, data)).to.equal(BOOT_BASE_MS + 100 * (2400 / 160) * IPC_RATIO);
  });
});
