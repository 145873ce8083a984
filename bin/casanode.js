#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so a checkout works without a compile step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../tools/cli.ts");
const code = await main(process.argv.slice(2));
// Every command has finished when main returns. A failed one exits now: after a type error,
// @rollup/plugin-typescript leaves a handle open and `casanode build` used to hang for ever.
if (code !== 0) process.exit(code);
process.exitCode = code;
