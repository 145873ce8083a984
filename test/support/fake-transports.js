// Browser side of the diagnostics page test, injected before the page loads: stand-ins for
// navigator.bluetooth (a Nordic UART service: 20-byte GATT writes, 20-byte notifications) and
// navigator.serial (a port with byte streams), both bridged by the test's exposed functions
// (__nodeOpen, __nodeWrite, __nodeClose; bytes back through __nodeData) to a simulated node's
// console over TCP, as `casanode sim --console-port` serves it. Bytes travel as latin1 strings.
(() => {
  const NUS = "6e400001-b5a3-f393-e0a9-e50e24dcca9e";
  const NUS_TX = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"; // written by the central
  const NUS_RX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"; // notified by the node
  const MTU_PAYLOAD = 20;
  const log = (window.__transportLog = []);
  const enc = (s) => {
    const a = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i) & 255;
    return a;
  };
  const dec = (buf) => {
    const a = buf instanceof Uint8Array ? buf : new Uint8Array(buf.buffer ? buf.buffer : buf);
    let s = "";
    for (const b of a) s += String.fromCharCode(b);
    return s;
  };
  let sink = null;
  window.__nodeData = (text) => {
    if (sink) sink(text);
  };
  class Target {
    constructor() {
      this.listeners = {};
    }
    addEventListener(type, f) {
      (this.listeners[type] = this.listeners[type] || []).push(f);
    }
    removeEventListener() {}
    dispatch(type, e) {
      for (const f of this.listeners[type] || []) f(e);
    }
  }

  const bluetooth = {
    async requestDevice(options) {
      log.push({ bluetooth: "requestDevice", filters: JSON.stringify(options.filters), optionalServices: options.optionalServices });
      if (!options.filters.some((f) => f.services && f.services.includes(NUS))) throw new DOMException("no node advertises the services asked for", "NotFoundError");
      const device = new Target();
      device.name = "CasaNode";
      device.id = "sim-node";
      const rx = new Target();
      rx.startNotifications = async () => {
        log.push({ bluetooth: "startNotifications" });
        return rx;
      };
      const tx = {
        async writeValue(buf) {
          const bytes = buf.byteLength;
          if (bytes > MTU_PAYLOAD) throw new DOMException(`GATT write of ${bytes} bytes over the ${MTU_PAYLOAD}-byte payload`, "NotSupportedError");
          log.push({ bluetooth: "write", bytes });
          await window.__nodeWrite(dec(buf));
        },
      };
      const service = {
        async getCharacteristic(uuid) {
          if (uuid === NUS_RX) return rx;
          if (uuid === NUS_TX) return tx;
          throw new DOMException("no characteristic " + uuid, "NotFoundError");
        },
      };
      const server = {
        connected: true,
        async getPrimaryService(uuid) {
          if (uuid !== NUS) throw new DOMException("no service " + uuid, "NotFoundError");
          return service;
        },
        disconnect() {
          if (!server.connected) return;
          server.connected = false;
          sink = null;
          void window.__nodeClose();
          device.dispatch("gattserverdisconnected", {});
        },
      };
      device.gatt = {
        async connect() {
          await window.__nodeOpen();
          // the node's output as notifications of at most 20 bytes, each its own buffer
          sink = (text) => {
            for (let i = 0; i < text.length; i += MTU_PAYLOAD) {
              const chunk = enc(text.slice(i, i + MTU_PAYLOAD));
              rx.dispatch("characteristicvaluechanged", { target: { value: new DataView(chunk.buffer) } });
            }
          };
          return server;
        },
      };
      return device;
    },
  };

  const serial = {
    async requestPort() {
      log.push({ serial: "requestPort" });
      const port = {
        readable: null,
        writable: null,
        async open(options) {
          log.push({ serial: "open", baudRate: options.baudRate });
          await window.__nodeOpen();
          port.readable = new ReadableStream({
            start(controller) {
              sink = (text) => controller.enqueue(enc(text));
            },
          });
          port.writable = new WritableStream({
            async write(chunk) {
              log.push({ serial: "write", bytes: chunk.byteLength });
              await window.__nodeWrite(dec(chunk));
            },
          });
        },
        async close() {
          sink = null;
          await window.__nodeClose();
        },
      };
      return port;
    },
  };

  Object.defineProperty(Navigator.prototype, "bluetooth", { value: bluetooth, configurable: true });
  Object.defineProperty(Navigator.prototype, "serial", { value: serial, configurable: true });
})();
