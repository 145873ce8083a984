// Writing a file into Espruino's flash (its Storage module) through the REPL, as `casanode
// flash` and `provision` do on a node and the benchmarks do on Espruino's Linux build: base64
// chunks, one REPL line each, the first line sizing the file.

import { FieldError } from "./field-error.js";

/** The Storage file Espruino evaluates at boot. */
export const BOOT_FILE = ".bootcde";
/** Raw bytes per REPL line: EspruinoTools' chunk; 512 base64 chars keep a line well inside the ESP32's 1 KB UART buffer. */
export const CHUNK_BYTES = 384;

/** The REPL lines that write data to a Storage file: the first one sizes the file. */
export function storageWriteCommands(name: string, data: Uint8Array, chunkBytes = CHUNK_BYTES): string[] {
  if (!name || name.length > 28) throw new FieldError(`bad Storage file name ${JSON.stringify(name)} (1 to 28 characters)`);
  if (!(chunkBytes > 0)) throw new FieldError("chunk size must be positive", 2);
  const commands: string[] = [];
  const file = JSON.stringify(name);
  for (let offset = 0; offset < data.length || offset === 0; offset += chunkBytes) {
    const part = Buffer.from(data.subarray(offset, offset + chunkBytes)).toString("base64");
    commands.push(`require("Storage").write(${file},atob(${JSON.stringify(part)}),${offset}${offset === 0 ? "," + data.length : ""})`);
    if (!data.length) break;
  }
  return commands;
}
