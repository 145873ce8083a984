// From simulated charge to what a city cares about: mAh a day, average current, and how
// many days a battery node lasts on its pack.

import type { BoardProfile } from "../firmware/board.js";

/**
 * Share of the nameplate capacity a node can count on: Li-ion cells lose capacity in the
 * cold and with age, self-discharge ~2-3 % a month, and the regulator cuts off before the
 * cell is empty. 80 % is the usual planning figure.
 */
export const USABLE_FRACTION = 0.8;

const DAY_MS = 86_400_000;

/** charge drawn over a run of durationMs, scaled to one day */
export function mahPerDay(chargeMah: number, durationMs: number): number {
  if (!(durationMs > 0)) return 0;
  return (chargeMah * DAY_MS) / durationMs;
}

/** mean current over the run, mA */
export function averageCurrentMa(chargeMah: number, durationMs: number): number {
  if (!(durationMs > 0)) return 0;
  return (chargeMah * 3_600_000) / durationMs;
}

/** days a battery board lasts at this drain, or undefined for mains boards (or no battery figure) */
export function batteryLifeDays(board: BoardProfile, perDayMah: number, usable = USABLE_FRACTION): number | undefined {
  if (board.power.source !== "battery" || !board.power.batteryMah) return undefined;
  if (!(perDayMah > 0)) return Infinity;
  return (board.power.batteryMah * usable) / perDayMah;
}

export interface EnergyFigures {
  chargeMah: number;
  mahPerDay: number;
  averageMa: number;
  /** undefined on mains boards */
  batteryLifeDays?: number;
}

export function energyFigures(board: BoardProfile, chargeMah: number, durationMs: number): EnergyFigures {
  const perDay = mahPerDay(chargeMah, durationMs);
  return {
    chargeMah,
    mahPerDay: perDay,
    averageMa: averageCurrentMa(chargeMah, durationMs),
    batteryLifeDays: batteryLifeDays(board, perDay),
  };
}

/** "412 d", "3.2 y", "mains" for tables */
export function formatLife(days: number | undefined): string {
  if (days === undefined) return "mains";
  if (!Number.isFinite(days)) return "inf";
  if (days >= 730) return (days / 365).toFixed(1) + " y";
  return Math.round(days) + " d";
}
