// What the BLE console costs a board, and whether its profile may have it on: the check
// behind each profile's `bleConsole` (a test runs it over every profile). ES5-safe data code.
import type { BoardProfile } from "../firmware/board.js";
import { CURRENTS } from "../boards/profiles/currents.js";

/** ESP32 cannot keep Bluetooth up in light or deep sleep: the console listens only while awake. */
export function bleCostMahPerDay(profile: BoardProfile): number {
  var awakeS = profile.power.source === "mains" ? 86400 : (profile.bleConsole && profile.bleConsole.awakeSPerDay) || 0;
  return (CURRENTS["esp32-ble"].on * awakeS) / 3600;
}

/** Why a profile's BLE console setting is wrong, or "" when it is allowed. */
export function bleConsoleProblem(profile: BoardProfile): string {
  var b = profile.bleConsole;
  if (!b) return "";
  if (!b.on || profile.power.source === "mains") return profile.chip === "linux" && b.on ? "the Linux build has no Bluetooth" : "";
  if (!(b.awakeSPerDay! > 0) || !(b.budgetMahPerDay! > 0)) return "a battery board needs awakeSPerDay and budgetMahPerDay to turn the BLE console on";
  var cost = bleCostMahPerDay(profile);
  if (cost > b.budgetMahPerDay!) return "the BLE console costs " + Math.round(cost * 10) / 10 + " mAh/day, over the budget of " + b.budgetMahPerDay + " mAh/day";
  return "";
}
