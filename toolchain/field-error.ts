// The error every tool shows the person at the terminal (a technician flashing, a crew running
// diag, the browser page): one line, no stack trace, and the exit code for the command line.

export class FieldError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "FieldError";
  }
}
