// The period grid of the duty cycle: samples fall on multiples of samplePeriodS since the
// epoch, windows close on multiples of uploadPeriodS, uploads go on the send grid (sendPeriodS).
// Pure arithmetic, shared by the scheduler (cycle.ts) and the link's side of it
// (uplink/session.ts). Firmware code: ES5, Espruino subset.

/** never sleep less than this (a cycle that overran its slot skips to the next one) */
export const MIN_SLEEP_MS = 1000;

/** next grid point strictly after `t` (and at least MIN_SLEEP_MS away) */
export function nextSlot(t: number, periodMs: number, now: number): number {
  var n = (Math.floor(t / periodMs) + 1) * periodMs;
  if (n < now + MIN_SLEEP_MS) n = (Math.floor((now + MIN_SLEEP_MS) / periodMs) + 1) * periodMs;
  return n;
}

/** a sample in `slot` is the last of its aggregation window (windowMs): the window closes with it */
export function closesWindow(slot: number, periodMs: number, windowMs: number): boolean {
  return slot + periodMs >= Math.floor(slot / windowMs) * windowMs + windowMs;
}

/** at `t` the send grid (sendMs, 0: every window) was crossed since the last upload */
export function sendDue(t: number, sendMs: number, lastUp: number | undefined): boolean {
  return !sendMs || !lastUp || Math.floor(t / sendMs) > Math.floor(lastUp / sendMs);
}

/**
 * The first wake at or after `from` (slots every periodMs) that will upload on its own
 * schedule: it closes a window and the send grid was crossed since `lastUp` (fold and
 * sendWhy decide the same). 0 if none within two send periods. Alarms, changes and retries
 * cannot be foreseen.
 */
export function nextUploadWake(from: number, periodMs: number, windowMs: number, sendMs: number, lastUp: number | undefined): number {
  var n = Math.ceil((2 * Math.max(sendMs, windowMs)) / periodMs) + 1;
  for (var i = 0, s = from; i < n; i++, s += periodMs) if (closesWindow(s, periodMs, windowMs) && sendDue(s, sendMs, lastUp)) return s;
  return 0;
}
