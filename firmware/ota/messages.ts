// Over-the-air update messages on MQTT (docs/ota.md):
//
//   casanode/<site>/<node>/ota         city -> node, QoS 1, retained: the node's signed manifest
//   casanode/<site>/<node>/ota-state   node -> city, QoS 1, retained: where the update stands
//   casanode-ota/<board>/<id>/<k>      city -> nodes, retained, read at QoS 0: chunk k of bundle id
//
// Chunks are shared by every node of a board (one copy on the broker), addressed by the
// bundle's id (first 16 hex digits of its SHA-256), so two bundles never mix. A chunk's
// payload is its CRC-32 (4 bytes, big-endian, as E.CRC32 computes it) then its bytes: a
// chunk damaged on the way or on the broker is refused on arrival, not after 70 KB.
// Topics carry no site: one retained copy serves every site on the broker.

import { TOPIC_ROOT, validId } from "../messages/topics.js";

/** CRC-32 of a binary string, unsigned (E.CRC32 on Espruino, zlib's on Node) */
export type Crc32 = (data: string) => number;

export const OTA_CHUNK_ROOT = TOPIC_ROOT + "-ota";

export type OtaState = "refused" | "fetching" | "failed" | "trial" | "done" | "rolled-back";

export interface OtaReport {
  state: OtaState;
  /** the bundle this is about (id), and its version */
  id?: string;
  fw?: string;
  /** the version running now */
  run: string;
  /** chunks staged / in the bundle */
  have?: number;
  of?: number;
  /** why (refused, failed, rolled-back): a short code, then words */
  error?: string;
  detail?: string;
}

export function otaTopic(site: string, node: string): string {
  return TOPIC_ROOT + "/" + site + "/" + node + "/ota";
}

export function otaStateTopic(site: string, node: string): string {
  return TOPIC_ROOT + "/" + site + "/" + node + "/ota-state";
}

export function chunkTopic(board: string, id: string, k: number): string {
  return OTA_CHUNK_ROOT + "/" + board + "/" + id + "/" + k;
}

/** chunk index from a chunk topic of bundle id, or -1 */
export function chunkIndex(topic: string, board: string, id: string): number {
  var pre = OTA_CHUNK_ROOT + "/" + board + "/" + id + "/";
  if (topic.substring(0, pre.length) !== pre) return -1;
  var k = topic.substring(pre.length);
  return /^[0-9]+$/.test(k) && k.length < 8 ? parseInt(k, 10) : -1;
}

/** Split an ota-state topic (host side); null for anything else. */
export function parseOtaStateTopic(topic: string): { site: string; node: string } | null {
  var p = topic.split("/");
  if (p.length !== 4 || p[0] !== TOPIC_ROOT || p[3] !== "ota-state" || !validId(p[1]) || !validId(p[2])) return null;
  return { site: p[1], node: p[2] };
}

function be32(n: number): string {
  return String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** a chunk's payload: CRC-32 then the bytes */
export function frameChunk(data: string, crc: Crc32): string {
  return be32(crc(data) >>> 0) + data;
}

/** the bytes of a chunk payload, or null if too short or its CRC does not match */
export function unframeChunk(payload: string, crc: Crc32): string | null {
  if (typeof payload !== "string" || payload.length < 5) return null;
  var data = payload.substring(4);
  return payload.substring(0, 4) === be32(crc(data) >>> 0) ? data : null;
}

export function reportPayload(r: OtaReport): string {
  return JSON.stringify(r);
}
