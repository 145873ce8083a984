// on / removeListener / removeAllListeners as Espruino's objects have them (E, dgram sockets),
// over a listener table the caller keeps (and reads when it emits).

export type ListenerTable = { [event: string]: any[] };

export function listenerMethods(api: <T extends (...a: any[]) => any>(f: T) => T, table: () => ListenerTable, reset: () => void) {
  return {
    on: api((event: any, fn: any) => {
      if (typeof fn === "function") (table()[String(event)] ??= []).push(fn);
    }),
    removeListener: api((event: any, fn: any) => {
      const t = table(), l = t[String(event)];
      if (l) t[String(event)] = l.filter((x) => x !== fn);
    }),
    removeAllListeners: api((event?: any) => {
      if (event === undefined) reset();
      else delete table()[String(event)];
    }),
  };
}
