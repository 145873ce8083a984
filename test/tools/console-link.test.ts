import { expect } from "chai";
import net from "node:net";
import { EventEmitter } from "node:events";
import { SerialPortMock } from "serialport";
import { FieldError } from "../../toolchain/field-error.js";
import { createLink, explainSerialError, isGarbled, openLink, parseTcpTarget, type ByteStream, type SerialPortClass } from "../../tools/console-link.js";
import { Repl } from "../../tools/repl.js";
import { rejection } from "../support/promises.js";
import { FakeEspruino } from "../support/fake-espruino.js";

describe("field tools: console link", () => {
  describe("opening a port", () => {
    it("asks for a port when none is given (usage error)", async () => {
      const err = await rejection(openLink(""));
      expect(err).to.be.instanceOf(FieldError);
      expect((err as FieldError).exitCode).to.equal(2);
    });

    it("refuses a malformed tcp address", () => {
      expect(() => parseTcpTarget("tcp://localhost")).to.throw(/expected tcp:\/\/host:port/);
      expect(() => parseTcpTarget("tcp://localhost:99999")).to.throw(/expected tcp:\/\/host:port/);
      expect(parseTcpTarget("tcp://[::1]:4001")).to.deep.equal({ host: "::1", port: 4001 });
    });

    it("says nothing listens when the TCP console is refused", async () => {
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as net.AddressInfo).port;
      await new Promise<void>((r) => server.close(() => r()));
      const err = await rejection(openLink(`tcp://127.0.0.1:${port}`));
      expect(err.message).to.match(/nothing listens on tcp:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
    });

    describe("serial (serialport's mock binding)", () => {
      const Mock = SerialPortMock as unknown as SerialPortClass;
      afterEach(() => SerialPortMock.binding.reset());

      it("names the ports that exist when the one asked for does not", async () => {
        SerialPortMock.binding.createPort("/dev/ttyACM0", { manufacturer: "Silicon Labs" });
        const err = await rejection(openLink("/dev/ttyUSB0", { serialPort: Mock }));
        expect(err.message).to.equal("no serial port /dev/ttyUSB0; ports found: /dev/ttyACM0 (Silicon Labs)");
      });

      it("opens an existing port at 115200 8N1 and talks to the REPL on it", async () => {
        SerialPortMock.binding.createPort("/dev/ttyUSB0");
        const link = await openLink("/dev/ttyUSB0", { serialPort: Mock });
        const port = (link as unknown as { stream: SerialPortMock }).stream;
        expect(port.port!.openOptions).to.include({ baudRate: 115200, dataBits: 8, parity: "none", stopBits: 1 });
        const node = new FakeEspruino();
        node.attach((text) => port.port!.emitData(Buffer.from(text, "latin1")));
        port.on("data", () => {}); // flowing
        const origWrite = port.port!.write.bind(port.port!);
        port.port!.write = async (buf: Buffer) => {
          await origWrite(buf);
          node.input(buf.toString("latin1"));
        };
        const repl = new Repl(link, { promptTimeoutMs: 2000 });
        await repl.attach();
        expect(await repl.eval("process.env.VERSION")).to.equal("2v29");
        await link.close();
      });
    });

    it("explains the OS's errors for a port that did not open", async () => {
      const list = async () => [{ path: "/dev/ttyS0" }];
      const noList = { list: () => Promise.reject(new Error("spawn udevadm ENOENT")) };
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error: No such file or directory, cannot open /dev/ttyUSB0"), { list }, "linux")).to.equal(
        "no serial port /dev/ttyUSB0; ports found: /dev/ttyS0",
      );
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error: No such file or directory, cannot open /dev/ttyUSB0"), noList, "linux")).to.match(
        /no serial port \/dev\/ttyUSB0; the serial ports could not be listed \(spawn udevadm ENOENT\)/,
      );
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error: No such file or directory"), { list: async () => [] }, "linux")).to.match(/no serial ports found/);
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error: Permission denied, cannot open /dev/ttyUSB0"), { list }, "linux")).to.match(/permission denied.*dialout group/);
      expect(await explainSerialError("/dev/ttyUSB0", new Error("Error Resource temporarily unavailable Cannot lock port"), { list }, "linux")).to.match(/is busy: another program/);
      expect(await explainSerialError("COM3", new Error("Opening COM3: Access denied"), { list }, "win32")).to.match(/COM3 is busy/);
      expect(await explainSerialError("/dev/null", new Error("Error: Inappropriate ioctl for device setting custom baud rate of 115200"), { list }, "linux")).to.equal("/dev/null is not a serial port");
    });
  });

  describe("XON/XOFF flow control (Espruino's ESP32 console has it on)", () => {
    it("stops writing on XOFF until XON, and keeps both out of the received text", async () => {
      let received = "";
      let atXon = -1;
      let xoffSent = false;
      // a wire whose writes complete a moment later, as a socket's or a UART's do
      const wire = new EventEmitter() as ByteStream & EventEmitter;
      const send = (text: string) => setImmediate(() => wire.emit("data", Buffer.from(text, "latin1")));
      wire.write = (data: Buffer, cb: (err?: Error | null) => void) => {
        received += data.toString("latin1");
        if (!xoffSent) {
          xoffSent = true;
          send("ok\x13"); // the node's input queue is 3/4 full
          setTimeout(() => {
            atXon = received.length;
            send("\x11go");
          }, 50);
        }
        setImmediate(() => cb(null));
        return true;
      };
      const link = createLink("wire", wire);
      const line = "x".repeat(1000);
      await link.write(line);
      expect((await link.expect(/ok(.*)go/, 500))[1]).to.equal("");
      expect(received).to.equal(line);
      // what got through before XON: at most the slices already on their way when XOFF came
      expect(atXon).to.be.within(1, 2 * 64);
    });
  });

  it("sends two lines written at once whole, one after the other: a diag refresh and a crew's action never interleave", async () => {
    let received = "";
    // a wire whose writes complete a moment later, as a socket's or a BLE characteristic's do
    const wire = new EventEmitter() as ByteStream & EventEmitter;
    wire.write = (data: Buffer, cb: (err?: Error | null) => void) => {
      received += data.toString("latin1");
      setTimeout(() => cb(null), 1);
      return true;
    };
    const link = createLink("wire", wire);
    const a = "a".repeat(300) + "\n", b = "b".repeat(300) + "\n";
    await Promise.all([link.write(a), link.write(b)]);
    expect(received).to.equal(a + b);
  });

  it("tells garbled bytes from text", () => {
    expect(isGarbled("\xf0\x8f\xfe\x80\xc3\x9a")).to.equal(true);
    expect(isGarbled("CasaNode 0.1.0 esp32-air boot\r\n>")).to.equal(false);
  });
});
