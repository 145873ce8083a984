// A fixed-size sliding window over a UART byte stream, shared by the frame readers: bytes go
// in at the back (binary strings or byte arrays, any chunking), the reader's scan looks at them
// from `start` and drops what it has taken or rejected. No allocation per byte.
export class ByteWindow {
  readonly buf: Uint8Array;
  /** index in buf of the oldest byte kept */
  start: number;
  /** bytes kept */
  n: number;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.start = 0;
    this.n = 0;
  }

  /** Append each byte, then call scan, so a frame is taken as soon as its last byte arrives. */
  push(data: string | ArrayLike<number>, scan: () => void): void {
    const text = typeof data === "string";
    for (let i = 0; i < data.length; i++) {
      if (this.start + this.n === this.buf.length) this._compact();
      this.buf[this.start + this.n] = text ? (data as string).charCodeAt(i) : (data as ArrayLike<number>)[i];
      this.n++;
      scan();
    }
  }

  drop(k: number): void {
    this.start += k;
    this.n -= k;
    if (!this.n) this.start = 0;
  }

  reset(): void {
    this.start = 0;
    this.n = 0;
  }

  private _compact(): void {
    for (let i = 0; i < this.n; i++) this.buf[i] = this.buf[this.start + i];
    this.start = 0;
  }
}
