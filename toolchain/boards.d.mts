export declare const BOARD_LIST_FILE: string;

export interface BoardEntry {
  /** boards/<name>.ts is its build entry, boards/profiles/<name>.ts its profile, dist/<name>.js its bundle */
  name: string;
  /** run by `casanode sim` when no --board is given */
  defaultFleet: boolean;
}

export declare class BoardListError extends Error {}

/** Every listed board, in the list's order; throws a BoardListError that names what is wrong. */
export declare function readBoardList(root?: string): BoardEntry[];
/** The names of every listed board. */
export declare function boardNames(root?: string): string[];
/** The boards `casanode sim` runs when none is named. */
export declare function defaultFleetBoards(root?: string): string[];
