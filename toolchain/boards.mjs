// The one list of boards, boards/boards.json, read and checked here for everything that needs
// it: rollup.config.mjs bundles these boards, `casanode build`, flash and provision take these
// names, and the simulator's default fleet is those marked defaultFleet. A file in boards/ that
// is not listed (devices.ts, espruino-*.ts, a new helper) is never a board. Plain .mjs so that
// rollup.config.mjs reads it without a TypeScript loader (types in boards.d.mts).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./root.mjs";

export const BOARD_LIST_FILE = "boards/boards.json";
const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const FIELDS = ["name", "defaultFleet", "note"];

/** The list is missing, malformed, or names a board whose files are not there. */
export class BoardListError extends Error {
  constructor(message) {
    super(message);
    this.name = "BoardListError";
  }
}

/** Every listed board, in the list's order; throws a BoardListError that names what is wrong. */
export function readBoardList(root = ROOT) {
  const where = BOARD_LIST_FILE;
  let text;
  try {
    text = readFileSync(path.join(root, where), "utf8");
  } catch (err) {
    throw new BoardListError(`cannot read the board list ${where}: ${err.message}`);
  }
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BoardListError(`${where} is not JSON: ${err.message}`);
  }
  const list = data && typeof data === "object" ? data.boards : undefined;
  if (!Array.isArray(list) || !list.length) throw new BoardListError(`${where} has no boards: expected {"boards": [{"name": "esp32-air", "defaultFleet": true}, ...]}`);
  const seen = new Set();
  return list.map((entry, i) => {
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) throw new BoardListError(`${where}: boards[${i}] is not an object`);
    const { name, defaultFleet, note } = entry;
    if (typeof name !== "string" || !NAME.test(name)) {
      throw new BoardListError(`${where}: boards[${i}] has name ${JSON.stringify(name)}; a board name is lower-case letters, digits, "-" and "_"`);
    }
    const extra = Object.keys(entry).filter((k) => !FIELDS.includes(k));
    if (extra.length) throw new BoardListError(`${where}: board ${name} has unknown field ${extra.join(", ")} (fields: ${FIELDS.join(", ")})`);
    if (seen.has(name)) throw new BoardListError(`${where} lists board ${name} twice`);
    seen.add(name);
    if (typeof defaultFleet !== "boolean") throw new BoardListError(`${where}: board ${name} needs "defaultFleet": true or false`);
    if (note !== undefined && typeof note !== "string") throw new BoardListError(`${where}: board ${name} has a note that is not a string`);
    for (const [file, what] of [[`boards/${name}.ts`, "build entry"], [`boards/profiles/${name}.ts`, "profile"]]) {
      if (!existsSync(path.join(root, file))) throw new BoardListError(`${where} lists board ${name}, but its ${what} ${file} does not exist`);
    }
    return { name, defaultFleet };
  });
}

/** The names of every listed board. */
export function boardNames(root = ROOT) {
  return readBoardList(root).map((b) => b.name);
}

/** The boards `casanode sim` runs when none is named. */
export function defaultFleetBoards(root = ROOT) {
  return readBoardList(root)
    .filter((b) => b.defaultFleet)
    .map((b) => b.name);
}
