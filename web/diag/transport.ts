// Opening a node's console from the browser through @espruino-tools/core: its UART (the
// @espruino-tools/uart singleton) owns the Web Bluetooth (Nordic UART service, 20-byte
// chunks, XON/XOFF) and Web Serial (115200 baud) endpoints. Only the connection is used:
// DeviceController.connect() would pulse LED2 (none on an ESP32) and E.dumpStr() the whole
// program over BLE, and its eval() takes the first line that comes back, which a log line can
// be; the page speaks the field tools' marker protocol instead (session.ts).

import { DeviceController } from "@espruino-tools/core";
import { FieldError } from "../../toolchain/field-error.js";
import { TextLink } from "../../tools/console-link.js";

export type TransportKind = "bluetooth" | "serial";

/** the library's names for its endpoints (shown in its chooser) */
const ENDPOINT: Record<TransportKind, string> = { bluetooth: "Web Bluetooth", serial: "Web Serial" };

/** Why this browser cannot use a transport, or "" when it can. */
export function unsupported(kind: TransportKind): string {
  const secure = window.isSecureContext && (location.protocol === "https:" || location.hostname === "localhost");
  if (!secure) return "open the page from https:// or http://localhost (casanode diag --web): browsers allow Bluetooth and serial only there";
  if (kind === "bluetooth" && !(navigator as unknown as { bluetooth?: unknown }).bluetooth) return "this browser has no Web Bluetooth: use Chrome or Edge (Android, Windows, macOS, ChromeOS; on Linux enable chrome://flags/#enable-web-bluetooth)";
  if (kind === "serial" && !(navigator as unknown as { serial?: unknown }).serial) return "this browser has no Web Serial: use Chrome or Edge on a laptop";
  return "";
}

interface UartConnection {
  isOpen: boolean;
  isOpening: boolean;
  on(event: "data" | "close", listener: (data?: string) => void): void;
  write(data: string, callback?: () => void): void;
}

/** While the browser's own pairing dialog is up, the library's connection stays "opening". */
const OPEN_POLL_MS = 250;

/**
 * Ask the browser for a node (its Bluetooth chooser or serial port picker) and open its
 * console. Must run inside a click: browsers allow the chooser only from a user gesture.
 */
export function connectNode(kind: TransportKind): Promise<TextLink> {
  const why = unsupported(kind);
  if (why) return Promise.reject(new FieldError(why));
  const uart = new DeviceController().UART;
  return new Promise<TextLink>((resolve, reject) => {
    let done = false;
    const opening = uart.connect((conn: UartConnection | null) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      if (!conn) return reject(new FieldError("no node chosen"));
      const name = kind === "bluetooth" ? "Bluetooth" : "USB serial";
      const link: TextLink = new TextLink(
        name,
        (bytes) =>
          new Promise<void>((sent) => {
            if (!conn.isOpen) throw new FieldError(`${name} link is closed`);
            conn.write(bytes, () => sent());
          }),
        async () => uart.close(),
      );
      conn.on("data", (d) => link.receive(d ?? ""));
      conn.on("close", () => link.shut(`the node's ${name} link closed (out of range, or the node went to sleep?)`));
      resolve(link);
    }) as UartConnection;
    chooseEndpoint(ENDPOINT[kind]);
    // the library says nothing when the chooser is cancelled or pairing fails: watch its state
    const poll = setInterval(() => {
      const conn = (uart.getConnection() as UartConnection | undefined) ?? opening;
      if (done || conn.isOpen || conn.isOpening) return;
      done = true;
      clearInterval(poll);
      reject(new FieldError(kind === "bluetooth" ? "no Bluetooth connection: pairing cancelled, or the node is out of range or asleep" : "no serial connection: no port chosen, or it is busy"));
    }, OPEN_POLL_MS);
  });
}

/**
 * The library shows its own chooser (Bluetooth or Serial); the page has one button per
 * transport, so pick the entry for the crew, in the same click. If the chooser changed shape,
 * it stays up and the crew picks there.
 */
function chooseEndpoint(label: string): void {
  for (const el of Array.from(document.querySelectorAll(".esp-tools-name"))) {
    if (el.textContent === label && el.parentElement) {
      el.parentElement.click();
      return;
    }
  }
}
