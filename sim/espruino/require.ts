// require(): the modules this build has, each made once per boot. Storage, net and dgram
// everywhere; Wifi on the ESP32 (with a network); tls and crypto on the Linux build only.

import type { EspruinoBoot } from "./context.js";
import { storageModule } from "./require-storage.js";
import { NetWiring } from "./require-net.js";
import { DgramWiring } from "./require-dgram.js";
import { WifiWiring } from "./require-wifi.js";
import { cryptoModule } from "./require-crypto.js";

export class Modules {
  private cache: { [name: string]: any } = {};
  readonly net: NetWiring;
  readonly wifi: WifiWiring;
  readonly dgram: DgramWiring;

  constructor(private boot: EspruinoBoot) {
    this.wifi = new WifiWiring(boot, () => this.net.poll());
    this.net = new NetWiring(boot, () => this.wifi.routable);
    this.dgram = new DgramWiring(boot, { routable: () => this.wifi.routable, dns: () => this.wifi.dns });
  }

  require(name: any): any {
    const n = String(name);
    const chip = this.boot.host.chip;
    switch (n) {
      case "Storage":
        return this.once(n, () => storageModule(this.boot));
      case "net":
        return this.once(n, () => this.net.netModule());
      case "dgram":
        return this.once(n, () => this.dgram.module());
      case "tls":
        if (chip !== "esp32") return this.once(n, () => this.net.tlsModule(this.require("net")));
        break;
      case "crypto":
        // the stock ESP32 build (Espruino's boards/ESP32_IDF4.py) leaves CRYPTO out; the Linux build has it
        if (chip !== "esp32") return this.once(n, () => cryptoModule(this.boot));
        break;
      case "Wifi":
        if (this.boot.host.wifi && chip === "esp32") return this.once(n, () => this.wifi.module());
        break;
    }
    throw this.boot.error(`Module ${JSON.stringify(n)} not found`);
  }

  private once(name: string, make: () => any): any {
    return (this.cache[name] ??= make());
  }

  /** the boot ends: sockets are cut, the radio goes off */
  stop(): void {
    this.net.stop();
    this.dgram.stop();
    this.wifi.stop();
  }
}

export function installRequire(s: any, boot: EspruinoBoot): void {
  s.require = boot.api((name: any) => boot.modules.require(name));
}
