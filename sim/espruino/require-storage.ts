// require("Storage"): the firmware's view of the node's SimStorage (sim/espruino/storage.ts),
// values made in the node's realm; readJSON takes Espruino's liberal JSON.

import type { EspruinoBoot } from "./context.js";
import { StorageError, fromLatin1, type SimStorageFile } from "./storage.js";
import { liberalJson } from "./json.js";

export function storageModule(boot: EspruinoBoot): any {
  const s = boot.host.storage;
  const api = <T extends (...a: any[]) => any>(f: T) => boot.api(f);
  const wrapFile = (f: SimStorageFile) => {
    const o: any = {
      read: api((len?: number) => f.read(len)),
      readLine: api(() => f.readLine()),
      write: api((data: string) => f.write(data)),
      erase: api(() => f.erase()),
      getLength: api(() => f.getLength()),
    };
    Object.defineProperty(o, "name", { get: () => f.name, enumerable: true });
    Object.defineProperty(o, "chunk", { get: () => f.chunk, enumerable: true });
    Object.defineProperty(o, "offset", { get: () => f.offset, enumerable: true });
    Object.defineProperty(o, "mode", { get: () => (f.mode === 0 ? 0 : f.mode.charCodeAt(0)), enumerable: true });
    return o;
  };
  return {
    read: api((name: string, offset?: number, length?: number) => s.read(name, offset, length)),
    readJSON: api((name: string, noExceptions?: boolean) => {
      const text = s.read(name);
      if (text === undefined) return undefined;
      let strict: string;
      try {
        strict = liberalJson(text);
      } catch (e) {
        if (noExceptions) return undefined;
        throw new StorageError((e as Error).message, "SyntaxError");
      }
      return boot.realm.JSON.parse(strict);
    }),
    readArrayBuffer: api((name: string) => {
      const text = s.read(name);
      if (text === undefined) return undefined;
      return boot.u8(fromLatin1(text)).buffer;
    }),
    write: api((name: string, data: any, offset?: number, size?: number) => s.write(name, data, offset, size)),
    writeJSON: api((name: string, data: any) => s.writeJSON(name, data)),
    erase: api((name: string) => s.erase(name)),
    eraseAll: api(() => s.eraseAll()),
    list: api((regex?: RegExp, filter?: any) => boot.array(s.list(regex, filter))),
    compact: api(() => s.compact()),
    getFree: api(() => s.getFree()),
    // whole numbers only: copied field by field into the realm, as JSON would copy them
    getStats: api(() => Object.assign(new boot.realm.Object(), s.getStats())),
    open: api((name: string, mode: any) => wrapFile(s.open(name, mode))),
  };
}
