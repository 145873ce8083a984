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
import { WARM_PLAN_FILE, WARM_EARLY_MS, WARM_LATE_MS, WARM_CREDIT } from "../firmware/runtime/warm-asleep.js";
import { MIN_SLEEP_MS } from "../firmware/runtime/grid.js";
import { RTC_FILE } from "../firmware/runtime/rtc-rate.js";
import { WOKE_GLOBAL, PRE_JS_MS } from "../firmware/runtime/energy.js";

/**
 * drivers made to start in the prelude: "frames", those that keep what they hear before a read
 * while their supply is on (its UART is set up first: drivers/a02yyuw.ts); "warm-up", those that
 * count their warm-up from the supply's power-on time the prelude leaves (drivers/sds011.ts; the
 * sampler waits it out for any of them: firmware/runtime/sampling.ts)
 */
export const WAKE_PRELUDE_MODELS: { [model: string]: "frames" | "warm-up" } = { a02yyuw: "frames", sds011: "warm-up", sen0232: "warm-up" };

/** The prelude's code for a board ("" for a mains board); throws a FieldError for a device that cannot. */
export function wakePrelude(profile: BoardProfile): string {
  const parts: string[] = [], warming: string[] = [];
  let asleep: { name: string; ms: number } | undefined;
  for (const d of profile.devices) {
    const where = `${profile.name}: device ${d.name}`;
    if (d.sleepWarmingMs !== undefined && !d.startAtBoot) throw new FieldError(`${where} has sleepWarmingMs, which needs startAtBoot: it is the prelude that sleeps`);
    if (!d.startAtBoot) continue;
    if (profile.power.source !== "battery") throw new FieldError(`${where} has startAtBoot, but the board is not on a battery: it does not boot to sample`);
    const kind = WAKE_PRELUDE_MODELS[d.model];
    if (!Object.hasOwn(WAKE_PRELUDE_MODELS, d.model)) throw new FieldError(`${where} has startAtBoot, but its driver (${d.model}) is not made to start before the bundle runs; drivers that are: ${Object.keys(WAKE_PRELUDE_MODELS).join(", ")}`);
    if (!d.power) throw new FieldError(`${where} has startAtBoot, which needs a switched supply`);
    const bus = d.bus;
    if (kind === "frames" && bus.kind !== "serial") throw new FieldError(`${where} has startAtBoot, which for ${d.model} needs a serial bus: the prelude sets its UART up`);
    const modePin: string | undefined = d.options?.modePin;
    const offPin = d.power.offPin;
    for (const pin of [...(bus.kind === "serial" ? [bus.rx, bus.tx] : []), d.power.pin, ...(modePin === undefined ? [] : [modePin]), ...(offPin === undefined ? [] : [offPin])]) {
      if (!/^D\d{1,2}$/.test(String(pin))) throw new FieldError(`${where}: pin ${pin} is not an ESP32 pin name (D0-D39)`);
    }
    if (offPin === d.power.pin) throw new FieldError(`${where}: a latched supply needs two pins, on (${d.power.pin}) and off (offPin), not one`);
    if (d.sleepWarmingMs !== undefined) {
      const w = d.sleepWarmingMs;
      if (kind !== "warm-up") throw new FieldError(`${where} has sleepWarmingMs, but its driver (${d.model}) has no warm-up to sleep through`);
      if (offPin === undefined) throw new FieldError(`${where} has sleepWarmingMs, which needs a latched supply (power.offPin): Espruino's ESP32.deepSleep holds no pin, so a plain switch goes off as the chip sleeps`);
      if (profile.chip !== "esp32") throw new FieldError(`${where} has sleepWarmingMs, but only an ESP32 deep-sleeps`);
      if (asleep) throw new FieldError(`${where} has sleepWarmingMs, as ${asleep.name} has: one device a board may sleep through its warm-up`);
      if (!Number.isInteger(w) || w < MIN_SLEEP_MS) throw new FieldError(`${where}: sleepWarmingMs must be a whole number of ms, at least ${MIN_SLEEP_MS}, got ${w}`);
      asleep = { name: d.name, ms: w };
    }
    // the UART first: its TX idles high, which the A02YYUW reads at power-up as "processed values"
    // when it is wired to the sensor's RX; a separate mode pin is set before the supply comes on
    if (kind === "frames" && bus.kind === "serial") parts.push(`${bus.port}.setup(${bus.baud},{rx:${bus.rx},tx:${bus.tx}})`);
    if (modePin !== undefined) parts.push(`digitalWrite(${modePin},${d.options?.realtime ? 0 : 1})`);
    // a latch is clocked by a rising edge (drivers/types.ts switchPower): on again is harmless
    parts.push(offPin === undefined ? `digitalWrite(${d.power.pin},${d.power.activeHigh ? 1 : 0})` : `digitalWrite(${d.power.pin},1);digitalWrite(${d.power.pin},0)`);
    if (kind === "warm-up") warming.push(`${JSON.stringify(d.name)}:${asleep?.name === d.name ? "o" : "n"}`);
  }
  // the time after the writes: where they fail (no pins) no warm-up is said to have begun
  if (warming.length) parts.push("var n=Date.now()-C");
  if (asleep) parts.push(warmAsleep(asleep.ms));
  if (warming.length) parts.push(`global.${POWERED_AT_BOOT_GLOBAL}={${warming.join(",")}}`);
  // never stops the boot: where the pins or ports do not exist (Espruino's Linux build) the bundle runs on
  const device = parts.length ? `try{${parts.join(";")}}catch(e){}\n` : "";
  if (!(profile.power.source === "battery" && profile.chip === "esp32")) return (warming.length ? "var C=0\n" : "") + device;
  // the clock is set only after a warm-up wake's sleep: that sleep's correction is the next wake's
  return rtcCorrection() + device + `try{if(C)setTime((Date.now()-C)/1000);global.${WOKE_GLOBAL}=W-C}catch(e){}\n` + earlyJoin();
}

/**
 * W: when the first statement ran (the energy books count the wake from there, less the boot's
 * fixed part). C: what the RTC gained in the deep sleep that ended, up to the boot (whose fixed
 * part the crystal times: firmware/runtime/rtc-rate.ts),
 * ms, for a timer wake after a sleep the bundle planned; R its rate. Taken off the clock before
 * the bundle runs.
 */
function rtcCorrection(): string {
  return `var W=Date.now(),C=0,R=0;try{var K=require("Storage").readJSON("${RTC_FILE}",1),t=W-${PRE_JS_MS};if(K&&ESP32.getWakeupCause()==4&&t>K.a){R=K.r;C=(t-K.a)*R/(1+R)}}catch(e){}\n`;
}

/**
 * The warm-up wake (firmware/runtime/warm-asleep.ts): a timer wake at the plan's time, the supply
 * just switched on, sleeps the plan's `s` ms again; the wake after it says the device has been on
 * since WARM_CREDIT of `s` before now (o), never earlier than it was, whatever the RTC's error
 * within its spec. Any other wake counts from now.
 */
function warmAsleep(ms: number): string {
  return (
    `var P=require("Storage").readJSON("${WARM_PLAN_FILE}",1),c=ESP32.getWakeupCause()==4,o=n;` +
    `if(P&&c&&P.s==${ms}&&n>P.at-${WARM_EARLY_MS}&&n<P.at+P.s/2)ESP32.deepSleep(P.s*1000*(1+R));` +
    `if(P&&c&&P.s==${ms}&&n>=P.at+P.s/2&&n<P.at+P.s+${WARM_LATE_MS})o=n-${Math.floor(ms * WARM_CREDIT)}`
  );
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
