import { expect } from "chai";
import { VirtualClock } from "../../sim/clock.js";
import { SimUart } from "../../sim/hw/uart.js";
import { openSerial } from "../../drivers/types.js";

describe("openSerial", () => {
  it("sets the port up and keeps one data listener however often configure() runs", () => {
    const clock = new VirtualClock(0);
    const uart = new SimUart("Serial2", clock);
    const heard: string[] = [];
    openSerial(uart, 9600, "D16", "D17", (d) => heard.push("first:" + d));
    openSerial(uart, 9600, "D16", "D17", (d) => heard.push("again:" + d));
    expect(uart.baud).to.equal(9600);
    uart.deviceSend([0x41, 0x42]);
    clock.advance(10);
    expect(heard).to.deep.equal(["again:AB"]);
  });
});
