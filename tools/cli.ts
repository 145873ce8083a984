// The casanode command: one entry for technicians, developers and maintenance crews.

import { Command, CommanderError } from "commander";
import { buildBoards, buildDiagPage, formatSizes } from "../toolchain/bundle.js";
import { registerSim } from "./sim.js";
import { registerFieldTools } from "./field-cli.js";
import { registerBench } from "./bench.js";
import { registerCommand } from "./command.js";
import { registerOta } from "./ota.js";

export const VERSION = "0.1.0";

export function makeProgram(): Command {
  const program = new Command("casanode")
    .description("CasaNode: firmware, simulator and field tools for street-side sensor nodes")
    .version(VERSION)
    .showHelpAfterError("(run casanode --help for usage)")
    // options belong to the command they follow: `casanode sim merge --summary f` is merge's (nested commands need it at every level)
    .enablePositionalOptions()
    .exitOverride();

  program
    .command("build")
    .description("bundle each board profile into dist/<board>.js (ES5, minified) and check it against Espruino; with no board named, also the diagnostics page into dist/diag/")
    .argument("[boards...]", "board names (default: all)")
    .action(async (boards: string[]) => {
      const infos = await buildBoards(boards);
      // the whole build (no boards named) also makes the diagnostics page
      if (!boards.length) infos.push(await buildDiagPage());
      console.log(formatSizes(infos));
      if (infos.some((i) => i.problems.length)) {
        throw new CommanderError(1, "casanode.refused", "a bundle uses what Espruino does not run (see above)");
      }
    });

  registerSim(program);
  registerFieldTools(program);
  registerCommand(program);
  registerOta(program);
  registerBench(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = makeProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
      if (err.code.startsWith("commander.")) return 2; // commander already printed the message
      console.error("casanode: " + err.message);
      return err.exitCode || 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error("casanode: " + message);
    return 1;
  }
}
