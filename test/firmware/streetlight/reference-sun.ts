// An independent sun for checking firmware/streetlight/sun.ts: the US Naval Observatory's
// "approximate solar coordinates" (aa.usno.navy.mil/faq/sun_approx: about 1 arcmin within
// two centuries of 2000) with Greenwich mean sidereal time, giving the sun's elevation at any
// instant; rise and set are found by scanning and bisection. No equation of time, no
// hour-angle formula: it shares nothing with NOAA's route but the altitude it looks for.

const RAD = Math.PI / 180;
const HOUR_MS = 3_600_000;
/** sunrise/sunset: upper limb on the horizon with refraction, deg */
export const SUNRISE_ALT = -0.833;
export const CIVIL_ALT = -6;

/** elevation of the sun's centre above the horizon, deg, at t (UTC ms) */
export function elevationDeg(t: number, lat: number, lon: number): number {
  const D = t / 86_400_000 - 10957.5; // days since J2000.0
  const g = (357.529 + 0.98560028 * D) * RAD;
  const q = 280.459 + 0.98564736 * D;
  const L = (q + 1.915 * Math.sin(g) + 0.02 * Math.sin(2 * g)) * RAD;
  const e = (23.439 - 0.00000036 * D) * RAD;
  const ra = Math.atan2(Math.cos(e) * Math.sin(L), Math.cos(L));
  const dec = Math.asin(Math.sin(e) * Math.sin(L));
  const gmst = (18.697374558 + 24.06570982441908 * D) * 15 * RAD;
  const h = gmst + lon * RAD - ra;
  const phi = lat * RAD;
  return Math.asin(Math.sin(phi) * Math.sin(dec) + Math.cos(phi) * Math.cos(dec) * Math.cos(h)) / RAD;
}

/** every instant in [from, to) where the elevation crosses alt: up (rise) or down (set) */
export function crossings(from: number, to: number, lat: number, lon: number, alt: number): Array<{ t: number; up: boolean }> {
  const out: Array<{ t: number; up: boolean }> = [];
  const step = 10 * 60_000;
  let a = from;
  let fa = elevationDeg(a, lat, lon) - alt;
  for (let b = from + step; b <= to; b += step) {
    const fb = elevationDeg(b, lat, lon) - alt;
    if (fa < 0 !== fb < 0) {
      let lo = a, hi = b, flo = fa;
      while (hi - lo > 100) {
        const mid = (lo + hi) / 2;
        const fm = elevationDeg(mid, lat, lon) - alt;
        if (fm < 0 === flo < 0) { lo = mid; flo = fm; } else hi = mid;
      }
      out.push({ t: (lo + hi) / 2, up: fb > fa });
    }
    a = b;
    fa = fb;
  }
  return out;
}

/**
 * Rise and set around local solar noon of the UTC day of dayMs (the same solar day sun.ts
 * reports), or undefined if the sun does not cross alt that day.
 */
export function referenceRiseSet(dayMs: number, lat: number, lon: number, alt = SUNRISE_ALT): { rise: number; set: number } | undefined {
  const noon = Math.floor(dayMs / 86_400_000) * 86_400_000 + 12 * HOUR_MS - lon * 240_000;
  const c = crossings(noon - 12 * HOUR_MS, noon + 12 * HOUR_MS, lat, lon, alt);
  const rise = c.find((x) => x.up);
  const set = c.filter((x) => !x.up).pop();
  return rise && set ? { rise: rise.t, set: set.t } : undefined;
}
