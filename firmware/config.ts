// Node config: schema, defaults and the ONE validator, used by the provisioning tool and the
// simulator on the host and by the node at boot. Firmware code: ES5, Espruino subset.
// Layers, lowest first: embedded defaults < board profile defaults < casanode.json < changes
// made by authenticated "config" commands (kept in the store).

import type { BoardProfile } from "./board.js";
import { ESP32_STORAGE_BYTES, LINUX_STORAGE_BYTES } from "./runtime/store.js";

export const FIRMWARE_VERSION = "0.1.0";
/** Storage file written by provisioning (tools/) or the simulator */
export const CONFIG_FILE = "casanode.json";

export interface BrokerConfig {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: boolean;
}

export interface NodeConfig {
  /** ids: [a-z0-9_-], used in MQTT topics */
  site: string;
  node: string;
  /** ip/gw/netmask: a static address (joins in ~0.7 s instead of ~1.6 s with DHCP); the
   *  broker must then be an IP (no DHCP, no DNS). DHCP is still used at power-on, once a day
   *  (SNTP by name) and for a day after the static address failed. */
  wifi: { ssid: string; password: string; ip?: string; gw?: string; netmask?: string };
  broker: BrokerConfig;
  /** per-node HMAC key for commands: 32 bytes as 64 hex digits */
  keyHex: string;
  /** wake and read the sensors on this grid, s */
  samplePeriodS: number;
  /** close the aggregation window on this grid, s (a multiple of samplePeriodS) */
  uploadPeriodS: number;
  /** battery: send the queue at least this often, on this grid, s (a multiple of uploadPeriodS;
   *  0 = at every window); earlier on an alarm or a significant change (thresholds) */
  sendPeriodS: number;
  /** raising one of these sends the data at once instead of at the next upload; while one is
   *  active every window goes out; binFillStep: a fill change this big since the last upload
   *  sends the window that saw it */
  thresholds: { pm25: number; binFill: number; noiseDb?: number; binFillStep?: number };
  /** readings kept for upload at most; beyond, the oldest are dropped (and counted). At most what
   *  the board's Storage holds (queueCapacity) */
  queueMax: number;
  /** streetlight position, degrees (sun schedule) */
  location: { lat: number; lon: number };
  /** local time = UTC + this, minutes: for the Lden day/evening/night split */
  tzOffsetMin: number;
  /** battery nodes wait at most this long after flushing for the round trip that proves queued
   *  commands delivered and for their acks' PUBACKs (they leave as soon as both are in) */
  lingerMs: number;
  /** give up joining Wi-Fi after this (Espruino's Wifi gives no callback while the AP is down) */
  wifiTimeoutMs: number;
  keepAliveS: number;
  /** battery nodes correct their clock (and learn their RTC's rate) by SNTP at each upload:
   *  a host name or IPv4 address, ":port" optional [pool.ntp.org]. A name needs DNS, which a
   *  static wifi.ip lacks: such nodes then sync on their daily DHCP wake only. */
  ntp?: string;
  /** locks the serial console (firmware/runtime/lock.ts): 8 to 20 printable ASCII characters */
  consolePassword?: string;
}

export var NTP_DEFAULT = "pool.ntp.org";

/** A development key: nodes using it print a warning. Provisioning sets a real one per node. */
export const DEV_KEY_HEX = "6361736e6f64652d6465762d6b65792d6e6f742d666f722d7573652d30303030";

/** Embedded defaults for a board: what a node boots with when no casanode.json was written. */
export function defaultConfig(board: BoardProfile): NodeConfig {
  return {
    site: "sim",
    node: (board.name + "-00").toLowerCase().replace(/[^a-z0-9_-]/g, "-"),
    wifi: { ssid: "casanode-sim", password: "casanode-sim-ap" },
    broker: { host: "127.0.0.1", port: 1883 },
    keyHex: DEV_KEY_HEX,
    samplePeriodS: 300,
    uploadPeriodS: 3600,
    sendPeriodS: 0,
    thresholds: { pm25: 55, binFill: 0.8, binFillStep: 0.1 },
    queueMax: 2000,
    location: { lat: 33.59, lon: -7.6 },
    tzOffsetMin: 0,
    lingerMs: 2500,
    wifiTimeoutMs: 20000,
    keepAliveS: 60,
  };
}

/** Layer `over` onto `base`, one level deep for nested objects (wifi, broker, thresholds...). */
export function mergeConfig(base: any, over: any): any {
  var out: any = {}, k: string;
  for (k in base) out[k] = base[k];
  if (!isObj(over)) return out;
  for (k in over) {
    if (isObj(over[k]) && isObj(out[k])) {
      var m: any = {}, j: string;
      for (j in out[k]) m[j] = out[k][j];
      for (j in over[k]) m[j] = over[k][j];
      out[k] = m;
    } else out[k] = over[k];
  }
  return out;
}

/** shorter console passwords are refused (guessable); at most 20: Espruino's E.setPassword limit */
export const CONSOLE_PASSWORD_MIN = 8;

/** fields a secret: masked in the console and in diag */
export const SECRET_FIELDS = ["wifi.password", "broker.password", "keyHex", "consolePassword"];

/** Storage bytes of a board: its profile's figure, else its chip's Espruino build */
export function storageBytesOf(board: BoardProfile): number {
  return board.storageBytes || (board.chip === "linux" ? LINUX_STORAGE_BYTES : ESP32_STORAGE_BYTES);
}

export function isObj(v: any): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** the config a node runs: the board's defaults under `raw` (casanode.json), the embedded ones under those */
export function layeredConfig(raw: any, board: BoardProfile): any {
  return mergeConfig(mergeConfig(defaultConfig(board), board.defaults), raw);
}
