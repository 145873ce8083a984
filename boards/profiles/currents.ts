// Every current figure the energy model uses, in one place (mA, "on" = powered and working,
// "off" = asleep or switched off). Their sources are in sim/current-sources.ts (host only,
// so the strings stay out of the bundle); a test checks each figure has one.

export interface CurrentFigure {
  on: number;
  off: number;
}

export const CURRENTS: { [part: string]: CurrentFigure } = {
  "esp32-cpu": { on: 40, off: 0.06 },
  "esp32-devkitc": { on: 45, off: 6 },
  "esp32-lowpower": { on: 40, off: 0.013 },
  "esp32-wifi": { on: 80, off: 0 },
  // Bluetooth LE console listening (Nordic UART), while awake only: an upper bound
  "esp32-ble": { on: 95, off: 0 },
  pms5003: { on: 60, off: 0.2 },
  sds011: { on: 70, off: 4 },
  sps30: { on: 60, off: 0.04 },
  sen0232: { on: 3, off: 0 },
  "pcb-spl": { on: 5, off: 0.1 },
  dnms: { on: 100, off: 100 },
  a02yyuw: { on: 8, off: 0 },
  "jsn-sr04t": { on: 8, off: 5 },
  "hc-sr04": { on: 15, off: 2 },
  "relay-5v": { on: 70, off: 0 },
  acs712: { on: 10, off: 10 },
  // the latch that keeps a supply on through deep sleep (esp32-air), on the always-on rail
  "latch-74lvc1g74": { on: 0.01, off: 0.01 },
};
