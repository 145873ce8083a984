// The one place that defines CasaNode's MQTT topics:
//
//   casanode/<site>/<node>/data    SenML JSON packs of readings (QoS 1)
//   casanode/<site>/<node>/status  retained {"state":"online"|"offline",...}; the last will says offline
//   casanode/<site>/<node>/diag    diagnostics JSON (counters, faults, memory)
//   casanode/<site>/<node>/cmd     signed commands to the node (it subscribes, QoS 1)
//   casanode/<site>/<node>/ack     command results {"id","ok","error"?,"detail"?}
//
// Site and node ids are 1-24 chars of [a-z0-9_-], so they need no escaping in topics, SenML
// names, client ids or file names, and can never be MQTT wildcards.

export const TOPIC_ROOT = "casanode";
export const ID_MAX_LENGTH = 24;

export type TopicKind = "data" | "status" | "diag" | "cmd" | "ack";
export const TOPIC_KINDS: TopicKind[] = ["data", "status", "diag", "cmd", "ack"];

export interface NodeTopics {
  data: string;
  status: string;
  diag: string;
  cmd: string;
  ack: string;
}

/** true if `id` is a usable site or node id */
export function validId(id: any): boolean {
  // no {1,24}: Espruino's regex engine silently fails {m,n} quantifiers
  return typeof id === "string" && id.length <= ID_MAX_LENGTH && /^[a-z0-9_-]+$/.test(id);
}

/** Why a site/node pair is unusable, or null if fine. */
export function idError(site: any, node: any): string | null {
  if (!validId(site)) return "site id must be 1-" + ID_MAX_LENGTH + " chars of a-z 0-9 _ -";
  if (!validId(node)) return "node id must be 1-" + ID_MAX_LENGTH + " chars of a-z 0-9 _ -";
  return null;
}

/** casanode/<site>/<node>/<kind>; throws on a bad id (config validation catches them first) */
export function topicFor(site: string, node: string, kind: TopicKind): string {
  var e = idError(site, node);
  if (e) throw new Error(e);
  return TOPIC_ROOT + "/" + site + "/" + node + "/" + kind;
}

export function nodeTopics(site: string, node: string): NodeTopics {
  return {
    data: topicFor(site, node, "data"),
    status: topicFor(site, node, "status"),
    diag: topicFor(site, node, "diag"),
    cmd: topicFor(site, node, "cmd"),
    ack: topicFor(site, node, "ack"),
  };
}

/** MQTT client id: unique per node across the deployment */
export function clientIdFor(site: string, node: string): string {
  return TOPIC_ROOT + "-" + site + "-" + node;
}

/** Subscription filter for every node of a site (host side), or of all sites. */
export function siteFilter(site?: string, kind?: TopicKind): string {
  return TOPIC_ROOT + "/" + (site || "+") + "/+/" + (kind || "+");
}

/** Split a topic of this scheme; null for anything else. */
export function parseTopic(topic: string): { site: string; node: string; kind: TopicKind } | null {
  var p = topic.split("/");
  if (p.length !== 4 || p[0] !== TOPIC_ROOT || !validId(p[1]) || !validId(p[2])) return null;
  if (TOPIC_KINDS.indexOf(p[3] as TopicKind) < 0) return null;
  return { site: p[1], node: p[2], kind: p[3] as TopicKind };
}

/** Retained status payload; the will carries statusPayload("offline"). */
export function statusPayload(state: "online" | "offline", extra?: { [key: string]: any }): string {
  var o: { [key: string]: any } = { state: state };
  if (extra) for (var k in extra) if (k !== "state") o[k] = extra[k];
  return JSON.stringify(o);
}
