// The wake prelude: statements put in front of a battery board's bundle, outside it. Espruino
// runs an image statement by statement as it lexes it, so these run right after the fixed part
// of the boot, while the bundle itself is still being lexed (about 0.8 s on an ESP32). A
// device marked startAtBoot gets its UART set up and its supply switched on there: its start-up
// (the A02YYUW's first frame comes ~300 ms after power-up) overlaps the boot, and the frames it
// sends meanwhile wait in Espruino's input queue until the bundle's driver listens; the SDS011's
// 15 s warm-up runs through the boot, counted from the time left in global cnOn. A battery
// ESP32 board also starts the Wi-Fi join of a planned upload wake there (earlyJoin).
import type { BoardProfile } from "../firmware/board.js";
import { FieldError } from "./field-error.js";
import { JOIN_PLAN_FILE, JOIN_EARLY_MS, EARLY_JOIN_GLOBAL } from "../firmware/uplink/early-join.js";
import { POWERED_AT_BOOT_GLOBAL } from "../firmware/board.js";

/**
 * drivers made to start in the prelude: "frames", those that keep what they hear before a read
 * while their supply is on (its UART is set up first: drivers/a02yyuw.ts); "warm-up", those that
 * count their warm-up from the supply's power-on time the prelude leaves (drivers/sds011.ts)
 */
export const WAKE_PRELUDE_MODELS: { [model: string]: "frames" | "warm-up" } = { a02yyuw: "frames", sds011: "warm-up" };

/** The prelude's code for a board ("" for a mains board); throws a FieldError for a device that cannot. */
export function wakePrelude(profile: BoardProfile): string {
  const parts: string[] = [], warming: string[] = [];
  for (const d of profile.devices) {
    if (!d.startAtBoot) continue;
    const where = `${profile.name}: device ${d.name}`;
    if (profile.power.source !== "battery") throw new FieldError(`${where} has startAtBoot, but the board is not on a battery: it does not boot to sample`);
    const kind = WAKE_PRELUDE_MODELS[d.model];
    if (!Object.hasOwn(WAKE_PRELUDE_MODELS, d.model)) throw new FieldError(`${where} has startAtBoot, but its driver (${d.model}) is not made to start before the bundle runs; drivers that are: ${Object.keys(WAKE_PRELUDE_MODELS).join(", ")}`);
    if (!d.power || d.bus.kind !== "serial") throw new FieldError(`${where} has startAtBoot, which needs a switched supply and a serial bus`);
    const modePin: string | undefined = d.options?.modePin;
    for (const pin of [d.bus.rx, d.bus.tx, d.power.pin, ...(modePin === undefined ? [] : [modePin])]) {
      if (!/^D\d{1,2}$/.test(String(pin))) throw new FieldError(`${where}: pin ${pin} is not an ESP32 pin name (D0-D39)`);
    }
    // the UART first: its TX idles high, which the A02YYUW reads at power-up as "processed values"
    // when it is wired to the sensor's RX; a separate mode pin is set before the supply comes on
    if (kind === "frames") parts.push(`${d.bus.port}.setup(${d.bus.baud},{rx:${d.bus.rx},tx:${d.bus.tx}})`);
    if (modePin !== undefined) parts.push(`digitalWrite(${modePin},${d.options?.realtime ? 0 : 1})`);
    parts.push(`digitalWrite(${d.power.pin},${d.power.activeHigh ? 1 : 0})`);
    if (kind === "warm-up") warming.push(`${JSON.stringify(d.name)}:Date.now()`);
  }
  // the time after the writes: where they fail (no pins) no warm-up is said to have begun
  if (warming.length) parts.push(`global.${POWERED_AT_BOOT_GLOBAL}={${warming.join(",")}}`);
  // never stops the boot: where the pins or ports do not exist (Espruino's Linux build) the bundle runs on
  const device = parts.length ? `try{${parts.join(";")}}catch(e){}\n` : "";
  return device + (profile.power.source === "battery" && profile.chip === "esp32" ? earlyJoin() : "");
}

/**
 * A planned upload wake's Wi-Fi join (firmware/uplink/early-join.ts), after the devices: their
 * start is what a sample waits for. setIP's and connect's answers are events, which Espruino
 * runs once the whole image has run, as the bundle's own callbacks.
 */
function earlyJoin(): string {
  const g = `global.${EARLY_JOIN_GLOBAL}`;
  const body =
    `var j=require("Storage").readJSON("${JOIN_PLAN_FILE}",1);if(!j||!(Date.now()>=j.at-${JOIN_EARLY_MS}))return;` +
    `var W=require("Wifi"),g=${g}={t0:Date.now(),ip:!!j.ip};` +
    `if(j.ip)W.setIP({ip:j.ip,gw:j.gw,netmask:j.nm},function(r){g.ipOk=r!==null});` +
    `W.connect(j.s,{password:j.p},function(e){g.e=e||null;if(g.cb)g.cb(g.e)})`;
  // a join that could not start leaves nothing for the bundle to wait for
  return `try{(function(){${body}})()}catch(e){${g}=undefined}\n`;
}
