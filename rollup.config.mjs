// One ES5 bundle per board of the board list (boards/boards.json): boards/<name>.ts -> dist/<name>.js.
// TypeScript lowers to ES5 (tsconfig.firmware.json); terser keeps to ES5 and hoists function
// declarations, because Espruino does not hoist (docs/espruino-dialect.md). The file written is
// the pretokenised image that is flashed (toolchain/pretokenise.mjs: untokenise() reads it).
import typescript from "@rollup/plugin-typescript";
import ts from "typescript";
import terser from "@rollup/plugin-terser";
import { espruinoHelpers, pretokenised } from "./toolchain/rollup-espruino.mjs";
import { tokenise } from "./toolchain/pretokenise.mjs";
import { boardNames } from "./toolchain/boards.mjs";
import path from "node:path";
import { createHash } from "node:crypto";

/**
 * Property mangling, opt-in by name (docs/design.md "Private members"): a member named `_x` is
 * renamed to a short name in each bundle, any other name is kept. Prefix `_` only a field or
 * method used by its own file alone: never a saved-state key, config field, wire or JSON name,
 * nor anything the sim, tests, tools or Espruino read by name (those must keep their names, and
 * each bundle gets different short names). Never write a `_` name quoted or as a string
 * (`o["_x"]`, `{"_x": 1}`, `"_x"`): a quoted key is kept everywhere (keep_quoted), a plain
 * string is not renamed at all. test/boards/mangle.test.ts checks both in the sources and bundles.
 */
export const PRIVATE_MEMBERS = {
  regex: /^_[^_]/,
  keep_quoted: true,
  // terser keeps the builtins of the engine it runs on (Node's); these are Espruino's extras on
  // every object (measured on 2v29): a short name such as `on` given to a field would hide
  // Object.prototype.on on that object. Node's EventEmitter internals: the sim runs bundles in Node.
  reserved: ["on", "emit", "removeListener", "removeAllListeners", "prependListener", "clone", "replaceWith", "_events", "_eventsCount", "_maxListeners"]
    // nor a short name of its own that starts with `_`: any `_x` left in a bundle is then a member not renamed
    .concat(["_"], Array.from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$_", (c) => "_" + c)),
};

/**
 * TypeScript for one-shot builds: its compiler host watches no files. The plugin builds through
 * a watch program, and when a type error aborts that program's first build (noEmitOnError) the
 * program is never handed back to be closed: its ~80 file watchers kept the process alive, so a
 * test or script whose build failed never exited (rollup/plugins#2023 is the same path). Nothing
 * here runs rollup in watch mode.
 */
export const oneShotTypeScript = {
  ...ts,
  createWatchProgram(host) {
    host.watchFile = () => ({ close() {} });
    host.watchDirectory = () => ({ close() {} });
    return ts.createWatchProgram(host);
  },
};

/** TypeScript to ES5 and the minifier: the same for a board's bundle and the OTA module in it */
export function firmwarePlugins() {
  return [
      typescript({ typescript: oneShotTypeScript, tsconfig: "./tsconfig.firmware.json", noEmitOnError: true, outDir: undefined, include: ["boards/**/*.ts", "drivers/**/*.ts", "firmware/**/*.ts", "types/*.d.ts"] }),
      espruinoHelpers(),
      terser({
        ecma: 5,
        // terser's default compress, less what Espruino does not take: functions hoisted (it does not
        // hoist), no `arguments[i]` rewriting, and `typeof X == "undefined"` kept (X may be an absent
        // global such as ESP32 on the Linux build). Each bundle was run on the real interpreter.
        // (it does not hoist `var` either: inlining past level 1 declares the inlined function's
        // names in a `var` after their use, which on Espruino writes the caller's variables:
        // toolchain/bundle-check.ts refuses it)
        compress: { hoist_funs: true, arguments: false, typeofs: false, passes: 2, inline: 1 },
        mangle: { properties: PRIVATE_MEMBERS },
        // short lines: Espruino copies the source line into each stack frame of a trace, and one
        // 55 KB line runs a 16383-variable heap out of memory on the first caught exception (measured)
        format: { ascii_only: true, comments: false, max_line_len: 500 },
      }),
  ];
}

export const FIRMWARE_TREESHAKE = { moduleSideEffects: false, propertyReadSideEffects: false };

const moduleImages = new Map();
/**
 * A lazily loaded part of the firmware (its entry and what it imports) built on its own,
 * pretokenised: the same for every board, built once per process. With `own`, only the modules
 * it matches are in the image; the others are the bundle's own copies, handed over at the
 * evaluation (`shared`: module id -> the bindings used), so the image carries no code twice.
 * They are handed as one array, read by position: names in the loader would be lexed at every
 * wake, and inside the image each binding becomes a local the minifier shortens.
 */
function moduleImage(entry, own) {
  let image = moduleImages.get(entry);
  if (!image) {
    image = (async () => {
      const { rollup } = await import("rollup");
      const shared = own ? await sharedBindings(rollup, entry, own) : [];
      const slots = new Map();
      let k = 0;
      for (const m of shared) slots.set(m.id, m.names.map((n) => `export var ${n} = ${SHARED_GLOBAL}[${k++}];`).join("\n"));
      const handedOver = {
        name: "casanode-shared-bindings",
        async resolveId(source, importer, options) {
          if (!importer || !slots.size) return null;
          const r = await this.resolve(source, importer, { ...options, skipSelf: true });
          return r && slots.has(r.id) ? "\0casanode-shared:" + r.id : null;
        },
        load(id) {
          return id.startsWith("\0casanode-shared:") ? slots.get(id.slice("\0casanode-shared:".length)) : null;
        },
      };
      const bundle = await rollup({ input: entry, treeshake: FIRMWARE_TREESHAKE, plugins: [handedOver, ...firmwarePlugins()], onwarn: refuseCircular });
      try {
        const { output } = await bundle.generate({ format: "iife", strict: false, esModule: false, generatedCode: "es5" });
        return { code: tokenise(output[0].code), shared };
      } finally {
        await bundle.close();
      }
    })();
    moduleImages.set(entry, image);
  }
  return image;
}

/** which bindings of the bundle's modules (all but those `own` matches) the part at `entry` uses, module by module */
async function sharedBindings(rollup, entry, own) {
  const external = (id, _importer, resolved) => resolved && !id.startsWith("\0") && !own.test(id);
  const bundle = await rollup({ input: entry, treeshake: FIRMWARE_TREESHAKE, plugins: firmwarePlugins(), onwarn: refuseCircular, external });
  try {
    const ids = [];
    const globals = (id) => {
      if (!ids.includes(id)) ids.push(id);
      return `m${ids.indexOf(id)}`;
    };
    const { output } = await bundle.generate({ format: "iife", strict: false, esModule: false, generatedCode: "es5", globals });
    // importedBindings names each external relative to the entry's folder
    const bindings = {};
    for (const [rel, names] of Object.entries(output[0].importedBindings)) bindings[path.resolve(path.dirname(path.resolve(entry)), rel)] = names;
    return ids.map((id) => {
      const names = bindings[id];
      if (!names) throw new Error(`${entry}: no bindings found for ${id}`);
      // named bindings only, none that terser would rename
      for (const n of names) if (n === "*" || n === "default" || n.startsWith("_")) throw new Error(`${entry} imports ${n} of ${id}: share named bindings only`);
      return { id, names };
    });
  } finally {
    await bundle.close();
  }
}

/** the object through which a bundle hands its own modules to a lazy part it evaluates (firmware/runtime/parts.ts sets it) */
const SHARED_GLOBAL = "__casanodeShared";
const PARTS_HELPER = path.resolve("firmware/runtime/parts.ts");

/**
 * Parts of the firmware a wake may not need, each kept in a board's bundle as one raw string,
 * which Espruino's lexer skips without reading it: the loader file (`load`, exporting `fn`)
 * becomes a function that evaluates the part's own build (`entry`, which hands its API to the
 * bundle through `global`). The firmware/<part>/lazy.ts files decide when.
 * - OTA (~15 KB): only while an update is under way (docs/ota.md "Loaded when needed"); its
 *   image is self-contained.
 * - the link (Wi-Fi, MQTT, SenML): only on a wake that connects; the commands (their format,
 *   HMAC check, actions): only when one arrives; the clock's SNTP client: only when a session
 *   asks the time (not on a static wake with a server by name). `build` names a string the loader exports: its
 *   image's hash (the config check's rules: node.ts keys a config that passed them on it). `own` names each one's modules; what else it
 *   uses (config, store, console...) is the bundle's, handed over.
 */
const LAZY_PARTS = [
  { name: "OTA", load: "/firmware/ota/load.ts", entry: "firmware/ota/module.ts", fn: "loadOta", global: "__casanodeOta" },
  {
    name: "uplink", load: "/firmware/uplink/load.ts", entry: "firmware/uplink/module.ts", fn: "loadUplink", global: "__casanodeUplink",
    own: /\/firmware\/(uplink\/(link|load|module|session)|mqtt\/\w+|messages\/senml)\.ts$/,
  },
  {
    // a mains node's side of the link: at its boot, never on a battery node
    name: "mains", load: "/firmware/uplink/mains-load.ts", entry: "firmware/uplink/mains-module.ts", fn: "loadMains", global: "__casanodeMains",
    own: /\/firmware\/uplink\/mains(-load|-module)?\.ts$/,
  },
  {
    // the SNTP client and the RTC rate's learning: only when a session asks the time
    name: "clock", load: "/firmware/uplink/clock-load.ts", entry: "firmware/uplink/clock-module.ts", fn: "loadClock", global: "__casanodeClock",
    own: /\/firmware\/uplink\/(clock-load|clock-module|clock-sync|sntp)\.ts$/,
  },
  {
    // boot counting, Bluetooth, the setup lines: at a power-on or reset, never on a deep-sleep wake
    name: "powerOn", load: "/firmware/runtime/power-on-load.ts", entry: "firmware/runtime/power-on-module.ts", fn: "loadPowerOn", global: "__casanodePowerOn",
    own: /\/firmware\/runtime\/power-on(-load|-module)?\.ts$/,
  },
  {
    name: "commands", load: "/firmware/runtime/commands-load.ts", entry: "firmware/runtime/commands-module.ts", fn: "loadCommands", global: "__casanodeCommands", build: "COMMANDS_BUILD",
    // the relay command's code (streetlight/hook.ts) its own copy: a bundle without a relay has none to hand over
    own: /\/firmware\/(runtime\/commands(-load|-module)?|messages\/commands|crypto\/(hmac|sha256)|config-check|streetlight\/hook)\.ts$/,
  },
  {
    name: "console", load: "/firmware/runtime/console-load.ts", entry: "firmware/runtime/console-module.ts", fn: "loadConsole", global: "__casanodeConsole",
    own: /\/firmware\/runtime\/(console(-api|-load|-module)?|lock|diag-figures)\.ts$/,
  },
];

function lazyParts() {
  return {
    name: "casanode-lazy-parts",
    async resolveId(source, importer, options) {
      if (!importer || LAZY_PARTS.some((p) => importer.endsWith("/" + p.entry))) return null;
      const r = await this.resolve(source, importer, { ...options, skipSelf: true });
      const part = r && LAZY_PARTS.find((p) => r.id.endsWith(p.load));
      return part ? "\0casanode-lazy-" + part.name : null;
    },
    async load(id) {
      const part = LAZY_PARTS.find((p) => id === "\0casanode-lazy-" + p.name);
      if (!part) return null;
      const { code: image, shared } = await moduleImage(part.entry, part.own);
      // a longer string would be no raw string (two length bytes): lexed char by char at every boot
      if (image.length > 65535) throw new Error(`the ${part.name} module is ${image.length} bytes: a raw string holds 65535`);
      const imports = shared.map((m, i) => `import { ${m.names.map((n) => `${n} as s${i}_${n}`).join(", ")} } from ${JSON.stringify(m.id)};`).join("\n");
      // in the order the image reads them (moduleImage)
      const handed = shared.flatMap((m, i) => m.names.map((n) => `s${i}_${n}`)).join(", ");
      const build = part.build ? `export var ${part.build} = ${JSON.stringify(createHash("sha256").update(image).digest("hex").slice(0, 8))};\n` : "";
      // the loader: evalPart (firmware/runtime/parts.ts) does the rest, once in the bundle
      return `${imports}
import { evalPart } from ${JSON.stringify(PARTS_HELPER)};
${build}export function ${part.fn}() {
  return evalPart(${JSON.stringify(part.global)}, ${JSON.stringify(image)}, ${shared.length ? `[${handed}]` : "undefined"});
}`;
    },
  };
}

/**
 * A battery board's wake prelude (toolchain/wake-prelude.ts) in front of its bundle, as
 * statements of their own: Espruino runs them before it has lexed the bundle. The profiles are
 * TypeScript: builds run under tsx (casanode build, the tests).
 */
function wakePrelude(name) {
  return {
    name: "casanode-wake-prelude",
    async renderChunk(code) {
      let prelude;
      try {
        const { wakePrelude } = await import(new URL("./toolchain/wake-prelude.ts", import.meta.url).href);
        const { profile } = await import(new URL(`./boards/profiles/${name}.ts`, import.meta.url).href);
        prelude = wakePrelude(profile);
      } catch (e) {
        if (e && e.code === "ERR_UNKNOWN_FILE_EXTENSION") throw new Error(`the wake prelude reads boards/profiles/${name}.ts: build with casanode build (it loads TypeScript)`);
        throw e;
      }
      return prelude ? { code: prelude + code, map: null } : null;
    },
  };
}

function refuseCircular(warning, warn) {
  if (warning.code === "CIRCULAR_DEPENDENCY") throw new Error(warning.message);
  warn(warning);
}

export function boardConfig(name) {
  return {
    input: `boards/${name}.ts`,
    treeshake: FIRMWARE_TREESHAKE,
    plugins: [
      lazyParts(),
      ...firmwarePlugins(),
      wakePrelude(name),
      // dist/<name>.js is the image flashed: pretokenised (toolchain/pretokenise.mjs)
      pretokenised(),
    ],
    output: { file: `dist/${name}.js`, format: "iife", strict: false, esModule: false, generatedCode: "es5" },
    onwarn: refuseCircular,
  };
}

export default boardNames().map(boardConfig);

// The diagnostics page (web/diag/): a browser build, modern JS, everything in one file in
// dist/diag/ (no CDN). It reuses the field tools' console link, REPL and diag (tools/); their
// Node-only imports are left external and must tree-shake away (toolchain/bundle.ts refuses a
// bundle that still has one).
export const DIAG_PAGE_NODE_ONLY = ["node:net", "cli-progress", "serialport"];

export async function diagPageConfig() {
  const { nodeResolve } = await import("@rollup/plugin-node-resolve");
  const commonjs = (await import("@rollup/plugin-commonjs")).default;
  return {
    input: "web/diag/main.ts",
    external: DIAG_PAGE_NODE_ONLY,
    treeshake: { moduleSideEffects: (_id, external) => !external },
    plugins: [
      noTranspiler(),
      productionEnv(),
      typescript({ typescript: oneShotTypeScript, tsconfig: "./web/tsconfig.json", noEmitOnError: true, outDir: undefined, include: ["web/diag/**/*.ts", "tools/console-link.ts", "tools/repl.ts", "tools/reporter.ts", "tools/diag.ts", "toolchain/field-error.ts", "firmware/runtime/lock-guard.ts", "types/espruino-api.d.ts"] }),
      nodeResolve({ browser: true, preferBuiltins: false }),
      commonjs(),
      terser({ ecma: 2020, format: { ascii_only: true, comments: false } }),
    ],
    output: { file: "dist/diag/diag.js", format: "iife", sourcemap: false },
  };
}

/**
 * @espruino-tools/core uses its transpiler (esprima + escodegen, ~300 KB) only in
 * DeviceController.setInterval, which the page never calls: stand in a stub that says so.
 */
function noTranspiler() {
  const id = "\0espruino-tools-transpiler-stub";
  return {
    name: "no-transpiler",
    resolveId: (source) => (source === "@espruino-tools/transpiler" ? id : null),
    load: (source) => (source === id ? 'export function transpile() { throw new Error("not in the diagnostics page: DeviceController.setInterval is unused"); }' : null),
  };
}

/** JSS (the library's chooser styles) reads process.env.NODE_ENV, which a browser has not: fix it at build time. */
function productionEnv() {
  return {
    name: "production-env",
    transform: (code, id) => (id.includes("node_modules") && code.includes("process.env.NODE_ENV") ? { code: code.replace(/process\.env\.NODE_ENV/g, '"production"'), map: null } : null),
  };
}
