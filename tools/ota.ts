// `casanode ota`: how the back office updates a fleet over the air (docs/ota.md). It cuts a
// bundle into chunks published once, retained, on per-board topics every node of that board
// reads at its own pace, and publishes each node a manifest signed with the node's own key
// (retained on its ota topic, so a sleeping battery node finds it at its next wake). Progress
// comes back on each node's retained ota-state topic: tallyRollout() reads it.

import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { DEFAULT_CHUNK_BYTES } from "../firmware/ota/manifest.js";
import { chunkTopic, otaStateTopic, parseOtaStateTopic, type OtaReport } from "../firmware/ota/messages.js";
import { planRollout, publishRollout, tallyRollout, formatTally, parseReport, connectBroker, RolloutError, type Rollout, type Tally } from "../sim/ota-rollout.js";
import { FIRMWARE_VERSION } from "../firmware/config.js";
import { CommandError, readKeysFile, type KeyEntry } from "./command.js";

export { planRollout, publishRollout, tallyRollout, formatTally, parseReport, RolloutError };
export type { RolloutOptions, Publication, Rollout, NodeProgress, Tally } from "../sim/ota-rollout.js";

/** The nodes of a board at a site in a keys file (all, or those named). */
export function fleetFromKeys(entries: KeyEntry[], site: string, board: string, names?: string[]): { node: string; keyHex: string }[] {
  const atSite = entries.filter((e) => e.site === site);
  if (names && names.length) {
    return names.map((n) => {
      const e = atSite.find((x) => x.node === n);
      if (!e) throw new CommandError(`no key for ${site}/${n} in the keys file`, 2);
      if (e.board && e.board !== board) throw new CommandError(`${site}/${n} is a ${e.board}, not a ${board}: it would refuse the bundle`, 2);
      return { node: n, keyHex: e.keyHex };
    });
  }
  return atSite.filter((e) => e.board === board).map((e) => ({ node: e.node, keyHex: e.keyHex }));
}

/**
 * Delete a finished rollout's retained chunks, and the manifest of each node that reports it
 * runs the bundle (an empty retained message clears a topic): a retained manifest is otherwise
 * delivered, and checked, at every connect of the node. Returns the nodes whose manifest went.
 */
export async function clearRollout(plan: Rollout, tally: Tally, broker: string): Promise<string[]> {
  const updated = new Set(tally.nodes.filter((n) => n.progress === "updated").map((n) => n.node));
  const done = plan.manifests.filter((m) => updated.has(m.node));
  const client = await connectBroker(broker);
  try {
    for (let k = 0; k < plan.chunks.length; k++) await client.publishAsync(chunkTopic(plan.board, plan.id, k), "", { qos: 1, retain: true });
    for (const m of done) await client.publishAsync(m.topic, "", { qos: 1, retain: true });
  } finally {
    client.end(true);
  }
  return done.map((m) => m.node);
}

/** Read the retained ota-state of a site's nodes for waitMs, calling onReport for each. */
export async function watchReports(broker: string, site: string, waitMs: number, onReport: (node: string, r: OtaReport) => void): Promise<void> {
  const client = await connectBroker(broker);
  try {
    client.on("message", (topic, message) => {
      const where = parseOtaStateTopic(topic), r = where && parseReport(message.toString("latin1"));
      if (where && r) onReport(where.node, r);
    });
    await client.subscribeAsync(otaStateTopic(site, "+"), { qos: 1 });
    await new Promise((r) => setTimeout(r, waitMs));
  } finally {
    client.end(true);
  }
}

export function registerOta(program: Command): Command {
  const seconds = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("a whole number of seconds");
    return n;
  };
  program
    .command("ota")
    .description("update a fleet over the air: publish a bundle's chunks (retained, per board) and a manifest signed for each node, then print the rollout's progress")
    .requiredOption("--board <board>", "the board profile the bundle is built for")
    .requiredOption("--site <id>", "the site whose nodes to update")
    .option("--node <id...>", "only these nodes (default: every node of the board in the keys file)")
    .requiredOption("--keys <file.jsonl>", "the keys file casanode provision --keys-out wrote")
    .option("--broker <url>", "the city's broker", "mqtt://localhost:1883")
    .option("--bundle <file>", "the bundle (default dist/<board>.js)")
    .option("--fw <version>", "the bundle's version, as it reports it", FIRMWARE_VERSION)
    .option("--downgrade", "sign the manifest as a downgrade (nodes refuse an older version otherwise)")
    .option("--chunk <bytes>", "chunk size", (v) => Number(v), DEFAULT_CHUNK_BYTES)
    .option("--watch <s>", "then read the nodes' reports for this long (0: only the retained ones)", seconds, 5)
    .option("--status", "publish nothing: print where the last rollout of this bundle stands")
    .option("--clear", "publish nothing: delete this bundle's retained chunks (once every node has it) and the manifests of the nodes that run it")
    .addHelpText("after", "\nExamples:\n  casanode ota --board esp32-bin --site casa --keys keys.jsonl --broker mqtt://broker:1883\n  casanode ota --board esp32-bin --site casa --keys keys.jsonl --status --watch 0\n")
    .action(async (o: { board: string; site: string; node?: string[]; keys: string; broker: string; bundle?: string; fw: string; downgrade?: boolean; chunk: number; watch: number; status?: boolean; clear?: boolean }) => {
      try {
        const file = o.bundle ?? `dist/${o.board}.js`;
        let bundle: string;
        try {
          bundle = readFileSync(file).toString("latin1");
        } catch (err) {
          throw new CommandError(`cannot read the bundle ${file}: ${(err as Error).message} (run npm run build?)`, 2);
        }
        const nodes = fleetFromKeys(readKeysFile(o.keys), o.site, o.board, o.node);
        const plan = planRollout({ bundle, board: o.board, site: o.site, nodes, fw: o.fw, cs: o.chunk, down: o.downgrade });
        if (!o.status && !o.clear) {
          await publishRollout(plan, o.broker);
          console.log(`published ${plan.fw} (${plan.id}, ${plan.size} bytes in ${plan.chunks.length} chunks) for ${nodes.length} ${o.board} nodes at ${o.site}`);
        }
        const reports: { [node: string]: OtaReport } = {};
        await watchReports(o.broker, o.site, Math.max(500, o.watch * 1000), (node, r) => (reports[node] = r));
        const t = tallyRollout(plan, nodes.map((n) => n.node), reports);
        if (o.clear) {
          const cleared = await clearRollout(plan, t, o.broker);
          console.log(`cleared ${plan.chunks.length} retained chunks of ${plan.id}, and the manifests of the ${cleared.length} of ${nodes.length} nodes that run it (the others keep theirs)`);
          return;
        }
        console.log(formatTally(t, nodes.length <= 50));
      } catch (err) {
        if (err instanceof CommandError || err instanceof RolloutError) throw new CommanderError(err.exitCode, "casanode.ota", err.message);
        throw err;
      }
    });
  return program;
}
