// Human durations for the CLI and fault specs: "90m", "6h", "2d", "30s", "1h30m", "500ms",
// "1.5h". A unit is required: a bare "90" is refused rather than guessed.

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DurationError";
  }
}

const UNIT_MS: { [unit: string]: number } = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};

const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|d|h|m|s)/y;

/** parse a duration to ms; throws DurationError with a one-line message on bad input */
export function parseDuration(text: string): number {
  const s = String(text).trim().toLowerCase();
  if (s === "") throw new DurationError("empty duration (use e.g. 90m, 6h, 2d, 1h30m)");
  if (/^\d+(\.\d+)?$/.test(s)) throw new DurationError(`duration "${text}" has no unit (use e.g. ${s}m, ${s}h, ${s}d)`);
  let total = 0;
  let pos = 0;
  let lastUnitMs = Infinity;
  PART.lastIndex = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) throw new DurationError(`bad duration "${text}" (use e.g. 90m, 6h, 2d, 1h30m)`);
    const unitMs = UNIT_MS[m[2]];
    if (unitMs >= lastUnitMs) throw new DurationError(`bad duration "${text}": units must go from largest to smallest, each once (e.g. 1h30m)`);
    lastUnitMs = unitMs;
    total += parseFloat(m[1]) * unitMs;
    pos = PART.lastIndex;
  }
  total = Math.round(total);
  if (!Number.isFinite(total)) throw new DurationError(`duration "${text}" is too large`);
  return total;
}

/** compact form for summaries: 93784000 -> "1d2h3m4s" */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(Math.round(ms));
  let out = "";
  for (const unit of ["d", "h", "m", "s"]) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += n + unit;
    rest -= n * UNIT_MS[unit];
  }
  if (rest > 0) out += rest + "ms";
  return sign + out;
}
