// Small plan files the scheduler leaves for the next wake's prelude (toolchain/wake-prelude.ts),
// which reads them before the bundle is lexed. Firmware code: ES5, Espruino subset.

/** Leave `plan` in `file` (null: none); flash is written only when it changes. */
export function savePlanFile(storage: StorageModule, file: string, plan: object | null): void {
  var text = plan ? JSON.stringify(plan) : "";
  try {
    if ((storage.read(file) || "") === text) return;
    if (text) storage.write(file, text);
    else storage.erase(file);
  } catch (e) {
    // flash full or failing: the next wake does without the plan
  }
}
