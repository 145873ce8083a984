// Sunrise and sunset for the streetlight schedule: the NOAA Solar Calculator's equations
// (Meeus: Julian century, equation of time, declination, hour angle), within a minute of the
// USNO almanac between the polar circles. NOAA's shorter fractional-year series was tried
// and dropped: it ignores the leap-year cycle, and its declination is off by up to 0.5 deg
// at the equinoxes (sunrise 2 min off at Casablanca, 4 at 60 deg).
// Everything is UTC: Morocco's clocks move (UTC+1, UTC+0 in Ramadan) but the sun does not,
// so the device keeps UTC and never converts.
// Firmware code: ES5, Espruino subset (no Date.UTC on Espruino: none needed).

const DAY_MS = 86400000;
const RAD = Math.PI / 180;
/** sunrise/sunset: the sun's upper limb on the horizon, refraction included */
export const ZENITH_SUNRISE = 90.833;
/** civil twilight: the sun's centre 6 deg below the horizon */
export const ZENITH_CIVIL = 96;
/** estimates per event: at solar noon, then at that estimate (a third moves it < 0.3 s) */
const PASSES = 2;

/** UTC ms, or a polar day/night in which the sun never crosses the given zenith */
export type SunTimes = { riseMs: number; setMs: number } | { always: "day" | "night" };

/**
 * One event of the UTC day starting at day0: sign 1 sunrise, -1 sunset. The solar terms are
 * taken at local solar noon, then again at each estimate (the declination moves up to
 * 0.4 deg a day). Returns UTC ms, or "day"/"night" when the sun stays above/below cosZ all day.
 */
function sunEvent(day0: number, phi: number, lon: number, cosZ: number, sign: number): number | string {
  let t = day0 + DAY_MS / 2 - lon * 240000; // 4 min of time per degree of longitude
  for (let i = 0; i < PASSES; i++) {
    const T = (t / DAY_MS - 10957.5) / 36525; // Julian centuries since J2000.0
    const L0 = (280.46646 + T * (36000.76983 + T * 0.0003032)) % 360; // mean longitude, deg
    const M = (357.52911 + T * (35999.05029 - 0.0001537 * T)) * RAD; // mean anomaly
    const e = 0.016708634 - T * (0.000042037 + 0.0000001267 * T); // orbit eccentricity
    const C = Math.sin(M) * (1.914602 - T * (0.004817 + 0.000014 * T)) + Math.sin(2 * M) * (0.019993 - 0.000101 * T) +
      Math.sin(3 * M) * 0.000289; // equation of centre, deg
    const om = (125.04 - 1934.136 * T) * RAD; // nutation
    const lambda = (L0 + C - 0.00569 - 0.00478 * Math.sin(om)) * RAD; // apparent longitude
    const eps = (23 + (26 + (21.448 - T * (46.815 + T * (0.00059 - T * 0.001813))) / 60) / 60 + 0.00256 * Math.cos(om)) * RAD;
    const decl = Math.asin(Math.sin(eps) * Math.sin(lambda));
    const y = Math.tan(eps / 2) * Math.tan(eps / 2);
    const l2 = 2 * L0 * RAD;
    const eqMin = (4 / RAD) * (y * Math.sin(l2) - 2 * e * Math.sin(M) + 4 * e * y * Math.sin(M) * Math.cos(l2) -
      0.5 * y * y * Math.sin(2 * l2) - 1.25 * e * e * Math.sin(2 * M)); // equation of time
    const c = cosZ / (Math.cos(phi) * Math.cos(decl)) - Math.tan(phi) * Math.tan(decl); // cos(hour angle)
    if (!(c >= -1 && c <= 1)) {
      // decided at noon; a refinement that crosses the limit keeps the previous estimate
      if (i === 0) return c < -1 ? "day" : "night";
      break;
    }
    t = day0 + (720 - 4 * (lon + (sign * Math.acos(c)) / RAD) - eqMin) * 60000;
  }
  return Math.round(t);
}

/**
 * Sunrise and sunset (UTC ms) of the UTC day containing dateMs, at lat (deg, north +) and
 * lon (deg, east +). zenithDeg: ZENITH_SUNRISE (default) or ZENITH_CIVIL for dawn/dusk.
 * Far from Greenwich an event may fall just outside that UTC day (it belongs to the solar
 * day whose noon is in it). Input that is not a finite number gives { always: "night" }:
 * the lamp's fail-safe answer, never NaN.
 */
export function sunTimes(dateMs: number, lat: number, lon: number, zenithDeg?: number): SunTimes {
  const z = typeof zenithDeg === "number" ? zenithDeg : ZENITH_SUNRISE;
  if (!isFinite(dateMs + lat + lon + z)) return { always: "night" };
  const day0 = Math.floor(dateMs / DAY_MS) * DAY_MS;
  const cosZ = Math.cos(z * RAD);
  const rise = sunEvent(day0, lat * RAD, lon, cosZ, 1);
  const set = sunEvent(day0, lat * RAD, lon, cosZ, -1);
  if (typeof rise === "number" && typeof set === "number") return { riseMs: rise, setMs: set };
  return { always: rise === "day" ? "day" : "night" };
}
