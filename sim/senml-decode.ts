// Host-side reader for what nodes publish: resolves SenML packs (RFC 8428 section 4.6) and
// decodes every topic of the scheme in firmware/messages/topics.ts. Used by tests, the
// simulator's reports and tools; it knows only the published formats, not the firmware.

import { parseTopic, type TopicKind } from "../firmware/messages/topics.js";

export interface ResolvedRecord {
  /** bn + n */
  name: string;
  unit?: string;
  value?: number;
  stringValue?: string;
  boolValue?: boolean;
  /** absolute, seconds since the epoch */
  time: number;
  /** bt + t was below 2^28, so the time was taken as relative to now (RFC 8428 4.5.3): CasaNode never means that */
  relative?: boolean;
}

export interface DecodedPack {
  version: number;
  records: ResolvedRecord[];
}

/** RFC 8428 section 4.5.1 */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9:./_-]*$/;
/** versions this reader understands: 10, and 10 + "Secondary Units" (RFC 9100) */
const KNOWN_VERSIONS = [10, 26];

/** RFC 8798 secondary units -> [primary unit, scale] */
export const SECONDARY_TO_PRIMARY: Record<string, [string, number]> = {
  "ug/m3": ["kg/m3", 1e-9],
  mm: ["m", 1e-3],
  ms: ["s", 1e-3],
  min: ["s", 60],
  h: ["s", 3600],
  mA: ["A", 1e-3],
  mV: ["V", 1e-3],
  hPa: ["Pa", 100],
  ppm: ["/", 1e-6],
  Ah: ["C", 3600],
  Wh: ["J", 3600],
  kWh: ["J", 3.6e6],
};

/** Resolve a SenML JSON pack; throws with a reason if it is not valid SenML. */
export function decodeSenml(json: string, nowS = Date.now() / 1000): DecodedPack {
  const pack = JSON.parse(json);
  if (!Array.isArray(pack) || pack.length === 0) throw new Error("a SenML pack is a non-empty array");
  let bn = "", bt = 0, bu: string | undefined, bv = 0, version: number | undefined;
  const records: ResolvedRecord[] = [];
  for (const r of pack) {
    if (typeof r !== "object" || r === null || Array.isArray(r)) throw new Error("record is not an object");
    for (const k of Object.keys(r)) if (k.endsWith("_")) throw new Error(`must-understand field ${k}`);
    if (r.bver !== undefined) {
      if (version !== undefined && r.bver !== version) throw new Error("bver changes within the pack");
      version = r.bver;
    }
    if (r.bn !== undefined) bn = String(r.bn);
    if (r.bt !== undefined) bt = Number(r.bt);
    if (r.bu !== undefined) bu = String(r.bu);
    if (r.bv !== undefined) bv = Number(r.bv);
    const name = bn + (r.n ?? "");
    if (!NAME_RE.test(name)) throw new Error(`bad name "${name}"`);
    const values = ["v", "vs", "vb", "vd", "s"].filter((k) => r[k] !== undefined);
    if (values.length === 0 && r.bv === undefined) throw new Error(`record ${name} has no value`);
    let time = bt + (r.t ?? 0);
    // values below 2^28 are relative to now (section 4.5.3)
    const relative = time < 2 ** 28;
    if (relative) time += nowS;
    const rec: ResolvedRecord = relative ? { name, time, relative } : { name, time };
    const unit = r.u ?? bu;
    if (unit !== undefined) rec.unit = unit;
    if (r.v !== undefined) {
      if (typeof r.v !== "number") throw new Error(`v of ${name} is not a number`);
      rec.value = bv + r.v;
    } else if (r.bv !== undefined && values.length === 0) rec.value = bv;
    if (r.vs !== undefined) rec.stringValue = String(r.vs);
    if (r.vb !== undefined) rec.boolValue = Boolean(r.vb);
    records.push(rec);
  }
  const v = version ?? 10;
  if (!KNOWN_VERSIONS.includes(v)) throw new Error(`unsupported SenML version ${v}`);
  if (v === 10) for (const r of records) if (r.unit && SECONDARY_TO_PRIMARY[r.unit]) throw new Error(`secondary unit ${r.unit} needs bver 26`);
  return { version: v, records };
}

/** a record's value in the registered primary unit (RFC 8798 conversion), or as is */
export function toPrimaryUnit(r: ResolvedRecord): { unit?: string; value?: number } {
  const conv = r.unit ? SECONDARY_TO_PRIMARY[r.unit] : undefined;
  if (!conv || r.value === undefined) return { unit: r.unit, value: r.value };
  return { unit: conv[0], value: r.value * conv[1] };
}

export type DecodedMessage =
  | { site: string; node: string; kind: "data"; pack: DecodedPack }
  | { site: string; node: string; kind: Exclude<TopicKind, "data">; body: any };

/** Decode any message of the topic scheme; throws for foreign topics or undecodable payloads. */
export function decodeMessage(topic: string, payload: string | Buffer): DecodedMessage {
  const t = parseTopic(topic);
  if (!t) throw new Error(`not a CasaNode topic: ${topic}`);
  const text = typeof payload === "string" ? payload : payload.toString("latin1");
  if (t.kind === "data") {
    const pack = decodeSenml(text);
    const prefix = `casanode/${t.site}/${t.node}/`;
    for (const r of pack.records) if (!r.name.startsWith(prefix)) throw new Error(`record ${r.name} does not belong to ${prefix}`);
    return { site: t.site, node: t.node, kind: "data", pack };
  }
  const body = JSON.parse(text);
  if (typeof body !== "object" || body === null) throw new Error(`${t.kind} payload is not a JSON object`);
  return { site: t.site, node: t.node, kind: t.kind, body };
}
