// The error for a bad simulator option, in a module of its own so the CLI can check options
// without loading the fleet runner.

/** A bad option: the CLI prints the message on one line and exits 2. */
export class SimOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimOptionError";
  }
}
