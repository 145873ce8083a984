// Headless Chromium for tests that look at what a browser draws: Debian's chromium, found on
// PATH, and a minimal PNG reader for its screenshots.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { inflateSync } from "node:zlib";

/** minimal PNG reader (8-bit RGB/RGBA, not interlaced): what Chromium's screenshots are */
export function decodePng(buf: Buffer): { width: number; height: number; channels: number; pixels: Uint8Array } {
  expect(buf.subarray(0, 8).toString("hex")).to.equal("89504e470d0a1a0a");
  let pos = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8], "bit depth").to.equal(8);
      channels = { 2: 3, 6: 4 }[data[9]] ?? 0;
      expect(channels, "colour type").to.be.greaterThan(0);
      expect(data[12], "interlace").to.equal(0);
    } else if (type === "IDAT") idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      let p = 0;
      if (f === 1) p = a;
      else if (f === 2) p = b;
      else if (f === 3) p = (a + b) >> 1;
      else if (f === 4) {
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (v + p) & 0xff;
    }
  }
  return { width, height, channels, pixels: out };
}

/** Share of non-white pixels and the number of distinct colours: a page that drew something, and more than flat boxes. */
export function inkAndColours(img: { width: number; height: number; channels: number; pixels: Uint8Array }): { ink: number; colours: number } {
  let ink = 0;
  const colours = new Set<number>();
  for (let i = 0; i < img.pixels.length; i += img.channels) {
    const [r, g, b] = [img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]];
    if (r < 235 || g < 235 || b < 235) ink++;
    colours.add((r << 16) | (g << 8) | b);
  }
  return { ink: ink / (img.width * img.height), colours: colours.size };
}

export function findChromium(): string | undefined {
  for (const bin of ["chromium", "chromium-browser", "google-chrome"]) {
    const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
    if (!r.error && r.status === 0) return bin;
  }
  return undefined;
}

export const CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

