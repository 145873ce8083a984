// Shapes of the Espruino API that CasaNode uses (Espruino 2v2x, ESP32 and Linux builds).
// Types only: firmware receives these objects injected; the globals are declared in
// espruino-globals.d.ts, which only the firmware build (boards/) sees.

/** A pin: Espruino's Pin object (D16...) or, in the simulator and tests, its name. */
type PinRef = any;

type PinMode = "input" | "input_pullup" | "input_pulldown" | "output" | "opendrain" | "analog" | "auto";

interface WatchEvent {
  state: boolean;
  /** seconds, with sub-ms fractions */
  time: number;
  /** time of the previous edge on this watch, seconds */
  lastTime: number;
  pin?: PinRef;
}

interface WatchOptions {
  repeat?: boolean;
  edge?: "rising" | "falling" | "both";
  debounce?: number;
}

interface SerialSetupOptions {
  rx?: PinRef;
  tx?: PinRef;
  bytesize?: number;
  parity?: string | null;
  stopbits?: number;
}

/** Espruino Serial port: 'data' events carry a binary string (one char per byte). */
interface EspruinoSerial {
  setup(baud: number, options?: SerialSetupOptions): void;
  write(data: string | number[] | Uint8Array | number): void;
  on(event: "data", listener: (data: string) => void): void;
  removeAllListeners(event?: string): void;
  available?(): number;
  read?(chars?: number): string;
}

interface I2CSetupOptions {
  scl?: PinRef;
  sda?: PinRef;
  bitrate?: number;
}

interface EspruinoI2C {
  setup(options?: I2CSetupOptions): void;
  writeTo(address: number, data: number[] | Uint8Array | number | string): void;
  readFrom(address: number, quantity: number): Uint8Array;
}

interface StorageFileLike {
  read(len?: number): string | undefined;
  readLine(): string | undefined;
  write(data: string): void;
  erase(): void;
  getLength(): number;
}

interface StorageModule {
  read(name: string, offset?: number, length?: number): string | undefined;
  readJSON(name: string, noExceptions?: boolean): any;
  readArrayBuffer(name: string): ArrayBuffer | undefined;
  write(name: string, data: string | Uint8Array, offset?: number, size?: number): boolean;
  writeJSON(name: string, data: any): boolean;
  erase(name: string): void;
  list(regex?: RegExp, filter?: { sf?: boolean }): string[];
  compact(): void;
  getFree(): number;
  /** not on SAVE_ON_FLASH builds (ESP32 and Linux have it) */
  getStats?(): { totalBytes: number; freeBytes: number; fileBytes: number; fileCount: number; trashBytes: number; trashCount: number };
  open(name: string, mode: "r" | "w" | "a"): StorageFileLike;
}

interface NetSocket {
  write(data: string): boolean;
  end(): void;
  on(event: "data", listener: (data: string) => void): void;
  on(event: "close" | "end" | "drain", listener: () => void): void;
  on(event: "error", listener: (err: any) => void): void;
  removeAllListeners(event?: string): void;
}

interface NetModule {
  connect(options: { host: string; port: number }, onConnect?: () => void): NetSocket;
}

/** require("dgram") (libs/network/jswrap_net.c): send takes a string; a message arrives as a string */
interface DgramSocket {
  send(data: string, port: number, address: string): void;
  on(event: "message", listener: (msg: string, info: { address: string; port: number; size: number }) => void): void;
  on(event: "close" | "error", listener: (...args: any[]) => void): void;
  close(): void;
}

interface DgramModule {
  createSocket(type: "udp4"): DgramSocket;
}

interface WifiDetails {
  rssi?: number;
  status?: string;
  ssid?: string;
}

interface WifiModule {
  connect(ssid: string, options: { password?: string }, callback: (err: string | null) => void): void;
  disconnect(callback?: () => void): void;
  on(event: "connected" | "disconnected" | "dhcp_timeout", listener: (details?: any) => void): void;
  removeAllListeners(event?: string): void;
  getIP(callback?: (err: any, ip: { ip: string }) => void): { ip: string };
  getDetails(callback?: (details: WifiDetails) => void): WifiDetails;
  /** zone is a POSIX TZ string ("UTC0"): the ESP32 build throws "Zone is not a string" on a number */
  setSNTP?(server: string, zone: string): void;
  /** ESP32 since 2v25: stops DHCP; the callback's argument is inverted ("Failure" = it worked, null = it did not) */
  setIP?(settings: { ip: string; gw: string; netmask: string }, callback: (r: string | null) => void): void;
}

interface CryptoModule {
  SHA256(data: string | Uint8Array): ArrayBuffer;
}

interface EspruinoMemory {
  free: number;
  usage: number;
  total: number;
  history?: number;
  blocksize?: number;
}

interface EspruinoE {
  getSizeOf(v: any, depth?: number): number;
  enableWatchdog(timeoutSeconds: number, isAuto?: boolean): void;
  kickWatchdog(): void;
  toString(...args: any[]): string;
  toUint8Array(...args: any[]): Uint8Array;
  CRC32(data: any): number;
  on(event: "init" | "kill" | "errorFlag", listener: (...args: any[]) => void): void;
  setPassword(password: string): void;
  lockConsole(): void;
  /** move the REPL to a device (a Serial object or its name), or null to take it off every device */
  setConsole(device: EspruinoSerial | string | null, options?: { force?: boolean }): void;
  /** the REPL's device name ("Serial1", "USB"), or null */
  getConsole(): string | null;
  reboot?(): void;
  getTemperature?(): number;
}

interface ESP32Module {
  deepSleep(microseconds: number): void;
  getWakeupCause(): number;
  reboot(): void;
  getState(): { freeHeap: number; minHeap?: number; sdkVersion?: string; cpuFrequency?: number; rtcTimestamp?: number; BLE?: boolean; Wifi?: boolean };
  /** stores the flag (NVS), ERASES the saved code (.bootcde, .bootrst, .varimage) and restarts */
  enableBLE(on: boolean): void;
}
