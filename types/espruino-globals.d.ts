// Espruino globals, visible only to the firmware build. Only boards/ may use them:
// drivers and firmware get them injected so tests and the simulator can pass fakes.

declare var Serial1: EspruinoSerial;
declare var Serial2: EspruinoSerial;
declare var Serial3: EspruinoSerial;
declare var I2C1: EspruinoI2C;
declare var E: EspruinoE;
/** Only on ESP32 builds: absent on Espruino's Linux build. */
declare var ESP32: ESP32Module | undefined;
declare var process: { version: string; env: any; memory(gc?: boolean): EspruinoMemory };
declare var global: any;

declare function Pin(name: string | number): PinRef;
declare function digitalWrite(pin: PinRef, value: number | boolean): void;
declare function digitalRead(pin: PinRef): number;
declare function digitalPulse(pin: PinRef, value: boolean | number, time: number | number[]): void;
declare function analogRead(pin: PinRef): number;
declare function pinMode(pin: PinRef, mode: PinMode, automatic?: boolean): void;
declare function setWatch(callback: (e: WatchEvent) => void, pin: PinRef, options?: WatchOptions | number): number;
declare function clearWatch(id?: number): void;
declare function getTime(): number;
declare function setTime(seconds: number): void;
declare function setTimeout(callback: () => void, ms: number): number;
declare function setInterval(callback: () => void, ms: number): number;
declare function clearTimeout(id?: number): void;
declare function clearInterval(id?: number): void;
declare function print(...args: any[]): void;
/** restart the interpreter and run the boot code in flash (.boot0, .bootcde) */
declare function load(): void;
declare function btoa(data: string): string;
declare function atob(data: string): string;

declare var console: { log(...args: any[]): void };

declare function require(name: "Storage"): StorageModule;
declare function require(name: "net"): NetModule;
declare function require(name: "Wifi"): WifiModule;
declare function require(name: "dgram"): DgramModule;
declare function require(name: "crypto"): CryptoModule;
declare function require(name: string): any;
