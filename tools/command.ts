// `casanode command`: how the back office sends a node a signed command (relay, config, diag,
// reboot) and reads its ack. Signs with the node's own key exactly as the firmware checks it
// (firmware/messages/commands.ts); the counter defaults to the Unix time in ms, so it keeps rising
// across operators and days (and past 2038: the node takes counters up to 2^53-1). Each command
// carries its issue time and a validity (default 1 h; a relay override with --expires is valid
// as long as it lasts): a node with a set clock refuses it after that. QoS 1 to the node's
// persistent session: a battery node that is asleep acts at its next wake, and its ack comes then.

import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import mqtt from "mqtt";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { signCommand, argsError, MAX_COMMAND_BYTES, MAX_CTR, MAX_TTL_S, type CommandName } from "../firmware/messages/commands.js";
import { nodeTopics, idError } from "../firmware/messages/topics.js";

const COMMANDS: CommandName[] = ["relay", "config", "diag", "reboot"];
const sha256 = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest("binary");

export class CommandError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface SendOptions {
  broker: string;
  site: string;
  node: string;
  keyHex: string;
  cmd: CommandName;
  args: { [key: string]: unknown };
  ctr?: number;
  id?: string;
  /** seconds the command stays valid (default: 1 h, a relay override's expiresS) */
  validS?: number;
  /** how long to wait for the ack, ms (0: don't wait) */
  waitMs: number;
}

export interface SendResult {
  id: string;
  ctr: number;
  /** the node's ack, or null if none came in time */
  ack: { id: string; ok: boolean; error?: string; detail?: string } | null;
}

/** Turn the command line's words into checked command arguments. */
export function commandArgs(cmd: string, arg: string | undefined, expiresS?: number): { cmd: CommandName; args: { [key: string]: unknown } } {
  if (!COMMANDS.includes(cmd as CommandName)) throw new CommandError(`unknown command "${cmd}": one of ${COMMANDS.join(", ")}`, 2);
  const name = cmd as CommandName;
  let args: { [key: string]: unknown } = {};
  if (name === "relay") {
    if (!arg) throw new CommandError("relay needs a state: on, off or auto", 2);
    args = { state: arg };
    if (expiresS !== undefined) args.expiresS = expiresS;
  } else if (arg !== undefined) {
    try {
      args = JSON.parse(arg);
    } catch {
      throw new CommandError(`${name} arguments must be JSON, e.g. '{"samplePeriodS":300}'`, 2);
    }
  }
  const problem = argsError(name, args);
  if (problem) throw new CommandError(`${name}: ${problem}`, 2);
  return { cmd: name, args };
}

/** A line of the keys file `casanode provision --keys-out` writes. */
export interface KeyEntry {
  site: string;
  node: string;
  board?: string;
  keyHex: string;
}

/** The keys file's entries with a key, the newest line per site/node (later lines win). */
export function readKeysFile(keysFile: string): KeyEntry[] {
  let text: string;
  try {
    text = readFileSync(keysFile, "utf8");
  } catch (err) {
    throw new CommandError(`cannot read ${keysFile}: ${(err as Error).message}`);
  }
  const byNode = new Map<string, KeyEntry>();
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let entry: Partial<KeyEntry>;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new CommandError(`${keysFile}:${i + 1}: not a JSON line`);
    }
    if (entry && entry.site && entry.node && entry.keyHex) byNode.set(entry.site + "/" + entry.node, entry as KeyEntry);
  });
  return [...byNode.values()];
}

/** The node's key: --key, else the line for site/node in a keys file written by `casanode provision --keys-out`. */
export function findKey(site: string, node: string, key?: string, keysFile?: string): string {
  if (key) return key;
  if (!keysFile) throw new CommandError("no key: give --key <hex>, --keys <file.jsonl> or CASANODE_KEY", 2);
  const found = readKeysFile(keysFile).find((e) => e.site === site && e.node === node);
  if (!found) throw new CommandError(`no key for ${site}/${node} in ${keysFile}`);
  return found.keyHex;
}

export async function sendCommand(o: SendOptions): Promise<SendResult> {
  const badId = idError(o.site, o.node);
  if (badId) throw new CommandError(badId, 2);
  if (!/^[0-9a-fA-F]{64}$/.test(o.keyHex)) throw new CommandError("the key must be 64 hex digits (32 bytes)", 2);
  if (o.validS !== undefined && !(Number.isInteger(o.validS) && o.validS >= 1 && o.validS <= MAX_TTL_S)) throw new CommandError(`--valid must be 1..${MAX_TTL_S} s`, 2);
  const ctr = o.ctr ?? Date.now();
  const id = o.id ?? "c-" + randomBytes(4).toString("hex");
  const payload = signCommand(o.node, o.keyHex, ctr, id, o.cmd, o.args, sha256, { ttl: o.validS });
  // the node drops a bigger one unread
  if (payload.length > MAX_COMMAND_BYTES) throw new CommandError(`the command is ${payload.length} bytes; a node takes at most ${MAX_COMMAND_BYTES}`, 2);
  const topics = nodeTopics(o.site, o.node);

  const client = mqtt.connect(o.broker, { clientId: "casanode-cli-" + randomBytes(4).toString("hex"), connectTimeout: 5000, reconnectPeriod: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", (err) => reject(new CommandError(`cannot reach the broker ${o.broker}: ${err.message}`)));
      client.once("close", () => reject(new CommandError(`cannot reach the broker ${o.broker}`)));
    });
    const ack = new Promise<SendResult["ack"]>((resolve) => {
      const timer = setTimeout(() => resolve(null), o.waitMs);
      client.on("message", (topic, message) => {
        if (topic !== topics.ack) return;
        try {
          const a = JSON.parse(message.toString("latin1"));
          if (a && a.id === id) {
            clearTimeout(timer);
            resolve(a);
          }
        } catch {
          // another tool's garbage on the ack topic is not our answer
        }
      });
    });
    await client.subscribeAsync(topics.ack, { qos: 1 });
    await client.publishAsync(topics.cmd, payload, { qos: 1 });
    return { id, ctr, ack: o.waitMs > 0 ? await ack : null };
  } finally {
    client.end(true);
  }
}

export function registerCommand(program: Command): Command {
  const seconds = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("a whole number of seconds above 0");
    return n;
  };
  const counter = (v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !(n >= 1 && n <= MAX_CTR)) throw new InvalidArgumentError(`a whole number 1..${MAX_CTR}`);
    return n;
  };
  program
    .command("command")
    .description("send a node a signed command (relay, config, diag, reboot) over MQTT and print its ack")
    .argument("<command>", "relay | config | diag | reboot")
    .argument("[arg]", "relay: on, off or auto; config: JSON, e.g. '{\"samplePeriodS\":300}'")
    .requiredOption("--site <id>", "the node's site id")
    .requiredOption("--node <id>", "the node id")
    .option("--broker <url>", "the city's broker", "mqtt://localhost:1883")
    .option("--key <hex>", "the node's 32-byte key, hex (or CASANODE_KEY)")
    .option("--keys <file.jsonl>", "the keys file casanode provision --keys-out wrote")
    .option("--expires <s>", "relay: go back to auto after this many seconds", seconds)
    .option("--valid <s>", "seconds the command stays valid; a node with a set clock refuses it later (default 3600; relay with --expires: that)", seconds)
    .option("--ctr <n>", "command counter (default: Unix time in ms; must rise for each command)", counter)
    .option("--wait <s>", "how long to wait for the ack", seconds, 30)
    .addHelpText("after", "\nExamples:\n  casanode command relay on --expires 3600 --site casa --node pole-07 --keys keys.jsonl\n  casanode command config '{\"uploadPeriodS\":1800}' --site casa --node air-03 --key <hex>\n")
    .action(async (name: string, arg: string | undefined, opts: { site: string; node: string; broker: string; key?: string; keys?: string; expires?: number; valid?: number; ctr?: number; wait: number }) => {
      try {
        const { cmd, args } = commandArgs(name, arg, opts.expires);
        const keyHex = findKey(opts.site, opts.node, opts.key ?? process.env.CASANODE_KEY, opts.keys);
        const r = await sendCommand({ broker: opts.broker, site: opts.site, node: opts.node, keyHex, cmd, args, ctr: opts.ctr, validS: opts.valid, waitMs: opts.wait * 1000 });
        if (!r.ack) {
          console.log(`sent ${r.id} (ctr ${r.ctr}); no ack within ${opts.wait} s: a sleeping battery node acts at its next wake`);
        } else if (r.ack.ok) {
          console.log(`${r.id}: ok${r.ack.detail ? " (" + r.ack.detail + ")" : ""}`);
        } else {
          throw new CommandError(`${r.id}: refused by the node: ${r.ack.error}${r.ack.detail ? " (" + r.ack.detail + ")" : ""}`);
        }
      } catch (err) {
        if (err instanceof CommandError) throw new CommanderError(err.exitCode, "casanode.command", err.message);
        throw err;
      }
    });
  return program;
}
