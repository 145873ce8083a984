// Where the field tools talk to the person: result lines on stdout, and the progress of a long
// write (flash, provision) as a bar on a terminal or plain lines in a log.

import cliProgress from "cli-progress";

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/** Where the field tools talk to the person: result lines on stdout, progress on a TTY bar. */
export interface Reporter {
  line(text: string): void;
  progress(label: string, total: number): Progress;
}

/** A bar on stderr when it is a terminal; otherwise a plain line every 10 %, for logs and pipes. */
export function consoleReporter(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Reporter {
  return {
    line: (text) => void stdout.write(text + "\n"),
    progress(label, total) {
      if (stderr.isTTY) {
        const bar = new cliProgress.SingleBar(
          { stream: stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | ETA {eta}s`, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
        return { update: (done) => bar.update(done), stop: () => bar.stop() };
      }
      return plainProgress(label, total, (text) => void stdout.write(text + "\n"));
    },
  };
}

export function plainProgress(label: string, total: number, write: (line: string) => void): Progress {
  let shown = -1;
  return {
    update(done) {
      const tenth = total ? Math.floor((done / total) * 10) : 10;
      if (tenth <= shown) return;
      shown = tenth;
      write(`${label}: ${tenth * 10}% (${done}/${total} bytes)`);
    },
    stop() {},
  };
}
