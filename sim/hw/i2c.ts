// An I2C bus between the emulated MCU (Espruino's I2C API) and simulated devices by address.

/** A device on the bus. Writes and reads are whole transactions, as Espruino makes them. */
export interface I2cDevice {
  readonly address: number;
  /** false = the device does not ACK (unplugged, asleep) */
  present(): boolean;
  write(data: Uint8Array): void;
  read(length: number): Uint8Array;
}

export class SimI2C implements EspruinoI2C {
  private devices = new Map<number, I2cDevice>();
  configured = false;
  transactions = 0;

  constructor(readonly name: string) {}

  attach(device: I2cDevice): void {
    this.devices.set(device.address, device);
  }

  detach(address: number): void {
    this.devices.delete(address);
  }

  setup(_options?: I2CSetupOptions): void {
    this.configured = true;
  }

  writeTo(address: number, data: number[] | Uint8Array | number | string): void {
    const bytes =
      typeof data === "number"
        ? Uint8Array.of(data)
        : typeof data === "string"
          ? Uint8Array.from(Buffer.from(data, "latin1"))
          : Uint8Array.from(data);
    this.target(address).write(bytes);
  }

  readFrom(address: number, quantity: number): Uint8Array {
    const out = this.target(address).read(quantity);
    const result = new Uint8Array(quantity);
    result.set(out.subarray(0, quantity));
    return result;
  }

  private target(address: number): I2cDevice {
    this.transactions++;
    if (!this.configured) throw new Error("I2C device not initialised - call setup()");
    const device = this.devices.get(address);
    // Espruino throws on a missing ACK; drivers must catch it
    if (!device || !device.present()) throw new Error("I2C Error: No ACK");
    return device;
  }
}
