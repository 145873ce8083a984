// The field tools on the casanode command line: flash and provision (technicians), diag
// (maintenance crews). Errors are one clear line and an exit code (1, or 2 for usage); main()
// in tools/cli.ts prints "casanode: <message>".
//
// --via-espruino-cli hands the write to EspruinoTools (`espruino --no-ble -p PORT -b 115200
// --board ESP32 --storage .bootcde:dist/<board>.js`), then reconnects to verify the CRC and
// restart. Optional: with EspruinoTools 0.1.67 over tcp:// it reported success without sending
// the file (measured), which the CRC check then refuses; the built-in path needs nothing else.

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { flash } from "./flash.js";
import { provision } from "./provision.js";
import { diag } from "./diag.js";
import { serveDiagPage } from "./diag-web.js";
import { FieldError } from "../toolchain/field-error.js";
import { PROMPT_TIMEOUT_MS } from "./repl.js";

const PORT_HELP = "the node's console: /dev/ttyUSB0, COM3, or tcp://host:port for a simulated node (casanode sim --console-port)";
const PASSWORD_HELP = "console password (E.setPassword); or set CASANODE_PASSWORD";

function seconds(value: string): number {
  const s = Number(value);
  if (!Number.isFinite(s) || s <= 0) throw new InvalidArgumentError("a number of seconds above 0");
  return s;
}

/** FieldErrors become CommanderErrors so main() exits with their code and prints one line. */
function field<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      if (err instanceof FieldError) throw new CommanderError(err.exitCode, "casanode.field", err.message);
      throw err;
    }
  };
}

function password(opts: { password?: string }): string | undefined {
  return opts.password ?? process.env.CASANODE_PASSWORD ?? undefined;
}

function promptMs(opts: { wait?: number }): number {
  return opts.wait !== undefined ? opts.wait * 1000 : PROMPT_TIMEOUT_MS;
}

export function registerFieldTools(program: Command): Command {
  const waitOption = () => new Option("--wait <s>", "how long to wait for the node's prompt").argParser(seconds).default(PROMPT_TIMEOUT_MS / 1000);

  program
    .command("flash")
    .description("write a board's firmware bundle to a node's flash (.bootcde), verify it by CRC-32 and restart the node")
    .requiredOption("-p, --port <port>", PORT_HELP)
    .requiredOption("-b, --board <name>", "board profile (boards/profiles/<name>.ts); dist/<name>.js is rebuilt if stale")
    .option("--dry-run", "connect and check (bundle, flash space) but write nothing")
    .option("--bundle <file>", "flash this bundle instead of dist/<board>.js")
    .option("--via-espruino-cli", "let the espruino npm CLI write the file (then verify and restart here)")
    .option("--password <pw>", PASSWORD_HELP)
    .addOption(waitOption())
    .addHelpText(
      "after",
      "\nExamples:\n  casanode flash --port /dev/ttyUSB0 --board esp32-air\n  casanode flash --port tcp://localhost:4001 --board esp32-air --dry-run\n" +
        "A battery node sleeps between cycles: if it does not answer, press its reset button and run again.\n",
    )
    .action(
      field(async (opts: { port: string; board: string; dryRun?: boolean; bundle?: string; viaEspruinoCli?: boolean; password?: string; wait?: number }) => {
        await flash({
          port: opts.port,
          board: opts.board,
          dryRun: !!opts.dryRun,
          bundleFile: opts.bundle,
          viaEspruinoCli: !!opts.viaEspruinoCli,
          password: password(opts),
          promptTimeoutMs: promptMs(opts),
        });
      }),
    );

  program
    .command("provision")
    .description("validate a node's config (the firmware's own validator), write it as casanode.json, verify it and restart the node")
    .requiredOption("-c, --config <file>", "JSON config (site, node, wifi, broker, ...: firmware/config.ts)")
    .option("-p, --port <port>", PORT_HELP)
    .option("--node <id>", "node id (overrides the file)")
    .option("--site <id>", "site id (overrides the file)")
    .option("-b, --board <name>", "board profile (default: what the node's firmware reports)")
    .option("--dry-run", "validate and show, write nothing (with --board, no node is needed)")
    .option("--keys-out <file>", "append a generated HMAC key here (JSON lines) instead of printing it")
    .option("--password <pw>", PASSWORD_HELP)
    .addOption(waitOption())
    .addHelpText(
      "after",
      "\nExamples:\n  casanode provision --port /dev/ttyUSB0 --config site.json --node air-07 --keys-out keys.jsonl\n  casanode provision --config site.json --node air-07 --board esp32-air --dry-run\n",
    )
    .action(
      field(async (opts: { config: string; port?: string; node?: string; site?: string; board?: string; dryRun?: boolean; keysOut?: string; password?: string; wait?: number }) => {
        await provision({
          config: opts.config,
          port: opts.port,
          node: opts.node,
          site: opts.site,
          board: opts.board,
          dryRun: !!opts.dryRun,
          keysOut: opts.keysOut,
          password: password(opts),
          promptTimeoutMs: promptMs(opts),
        });
      }),
    );

  program
    .command("diag")
    .description("read a node's diagnostics over its console: health, network, queue, each sensor's counters, memory, energy (a locked console gives them without --password)")
    .option("-p, --port <port>", PORT_HELP)
    .option("--web [httpPort]", "serve the diagnostics page (Bluetooth / USB from a browser) on http://localhost:<httpPort> (default 8080)")
    .option("--json", "print the node's raw report as JSON")
    .addOption(new Option("--watch <s>", "read again every s seconds until Ctrl-C").argParser(seconds))
    .option("--password <pw>", PASSWORD_HELP)
    .addOption(waitOption())
    .action(
      field(async (opts: { port?: string; web?: string | boolean; json?: boolean; watch?: number; password?: string; wait?: number }) => {
        if (opts.web !== undefined) {
          const httpPort = opts.web === true ? 8080 : Number(opts.web);
          if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535) throw new FieldError("--web takes a TCP port number", 2);
          const server = await serveDiagPage(httpPort);
          console.log(`diagnostics page on ${server.url} (open it in Chrome or Edge; Ctrl-C to stop)`);
          await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
          await server.close();
          return;
        }
        if (!opts.port) throw new FieldError("diag needs --port (or --web to serve the page)", 2);
        await diag({
          port: opts.port,
          json: !!opts.json,
          watchS: opts.watch,
          password: password(opts),
          promptTimeoutMs: promptMs(opts),
          clear: !!process.stdout.isTTY && !opts.json,
        });
      }),
    );
  return program;
}
