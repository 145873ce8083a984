// What every lazily evaluated part's loader does (rollup.config.mjs `LAZY_PARTS`), once in the
// bundle rather than in each loader: the loaders are lexed at every wake. Firmware code: ES5.


/**
 * Evaluate a part's image: it hands its API to global[name], and finds the bundle's bindings it
 * uses in __casanodeShared (`shared`, by position), read as it is evaluated. Throws if the image gave nothing.
 */
export function evalPart(name: string, image: string, shared: any[] | undefined): any {
  var api = null, g: any = global;
  g[name] = function (a: any) {
    api = a;
  };
  g.__casanodeShared = shared;
  (0, eval)(image);
  g[name] = undefined;
  g.__casanodeShared = undefined;
  if (!api) throw new Error(name + " gave nothing");
  return api;
}
