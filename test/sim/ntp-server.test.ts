// The simulated NTP server against byte fixtures laid out by hand from RFC 4330 section 4 /
// RFC 5905 section 7.3 (not from the code under test), and against random garbage.

import { expect } from "chai";
import fc from "fast-check";
import { ntpServerReply, readNtpTimestamp, writeNtpTimestamp, NTP_PACKET_BYTES } from "../../sim/ntp-server.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** a client request: first byte (LI, VN, mode), poll 6, transmit timestamp de ad be ef 01 02 03 04 */
const request = (first: number, bytes = 48) => {
  const q = Buffer.alloc(bytes);
  q[0] = first;
  q[2] = 6;
  hex("deadbeef01020304").copy(q, 40);
  return q;
};

// 2026-01-15T08:00:10.250Z: 1768464010 s after 1970 = 0xED131D0A s after 1900, .25 s = 0x40000000
const T = Date.UTC(2026, 0, 15, 8, 0, 10) + 250;

describe("sim NTP server (RFC 4330 reply)", () => {
  it("answers a VN4 client request with the 48 bytes of an RFC 4330 server reply", () => {
    const reply = ntpServerReply(request(0x23), T); // LI 0, VN 4, mode 3
    expect(reply).to.not.equal(null);
    expect(reply!.toString("hex")).to.equal(
      hex(`
        24 02 06 ec
        00 00 04 00
        00 00 02 00
        cb 00 71 01
        ed 13 1d 00 00 00 00 00
        de ad be ef 01 02 03 04
        ed 13 1d 0a 40 00 00 00
        ed 13 1d 0a 40 00 00 00`).toString("hex"),
    );
    // byte by byte, what a client checks
    const r = reply!;
    expect(r[0] >> 6, "LI").to.equal(0);
    expect((r[0] >> 3) & 7, "VN").to.equal(4);
    expect(r[0] & 7, "mode").to.equal(4);
    expect(r[1], "stratum").to.equal(2);
    expect(r.readInt8(3), "precision").to.equal(-20);
    expect(r.subarray(12, 16).toString("latin1"), "a stratum-2 refid is an address, not ASCII").to.not.match(/^[A-Z]/);
  });

  it("copies VN (1-4) and poll; accepts a binary string as Espruino holds it, and ignores bytes past 48", () => {
    for (const vn of [1, 2, 3, 4]) {
      const r = ntpServerReply(request((vn << 3) | 3), T)!;
      expect(r[0], `VN${vn}`).to.equal((vn << 3) | 4);
      expect(r[2]).to.equal(6);
    }
    const asString = ntpServerReply(request(0x1b).toString("latin1"), T)!;
    expect(asString.equals(ntpServerReply(request(0x1b), T)!)).to.equal(true);
    const withMac = request(0x23, 68);
    withMac.fill(0xaa, 48);
    expect(ntpServerReply(withMac, T)!.equals(ntpServerReply(request(0x23), T)!)).to.equal(true);
  });

  it("ignores what is not a client request: short, mode other than 3, version 0 or 5-7", () => {
    expect(ntpServerReply(request(0x23, 47), T), "47 bytes").to.equal(null);
    expect(ntpServerReply("", T), "empty").to.equal(null);
    for (const first of [0x03, 0x2b, 0x33, 0x3b, 0x24, 0x21, 0x22, 0x25, 0x1c, 0x18]) expect(ntpServerReply(request(first), T), first.toString(16)).to.equal(null);
    // LI of the request does not matter
    expect(ntpServerReply(request(0xe3), T)).to.not.equal(null);
  });

  it("stamps fractions of a second and rolls into NTP era 1 in 2036", () => {
    const b = new Uint8Array(8);
    writeNtpTimestamp(b, 0, Date.UTC(2036, 1, 7, 6, 28, 16));
    expect(Buffer.from(b).toString("hex")).to.equal("0000000000000000");
    writeNtpTimestamp(b, 0, Date.UTC(2036, 1, 7, 6, 28, 17) + 750);
    expect(Buffer.from(b).toString("hex")).to.equal("00000001c0000000");
    expect(readNtpTimestamp(b, 0)).to.equal(Date.UTC(2036, 1, 7, 6, 28, 17) + 750);
    writeNtpTimestamp(b, 0, 0);
    expect(Buffer.from(b).toString("hex")).to.equal("83aa7e8000000000"); // 1970: 2208988800 s
    expect(readNtpTimestamp(b, 0)).to.equal(0);
    // a virtual clock's fractional ms
    const r = ntpServerReply(request(0x23), T + 0.5)!;
    expect(readNtpTimestamp(r, 40)).to.be.closeTo(T + 0.5, 1e-6);
  });

  it("never throws on random bytes or strings: no reply, or a 48-byte mode-4 reply echoing VN and the transmit timestamp", () => {
    const byteString = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 120 }).map((a) => String.fromCharCode(...a));
    // a valid request now and then, among the garbage
    const nearlyValid = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 47, maxLength: 60 })).map(([first, rest]) => {
      const q = Buffer.from(rest);
      if (q.length) q[0] = first;
      return q;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), byteString, nearlyValid), fc.double({ min: 0, max: 4e12, noNaN: true }), (req, t) => {
        const q = typeof req === "string" ? Buffer.from(req, "latin1") : Buffer.from(req);
        const r = ntpServerReply(req, t);
        const valid = q.length >= 48 && (q[0] & 7) === 3 && ((q[0] >> 3) & 7) >= 1 && ((q[0] >> 3) & 7) <= 4;
        if (!valid) return r === null;
        return (
          r !== null &&
          r.length === NTP_PACKET_BYTES &&
          r[0] === ((q[0] & 0x38) | 4) &&
          r.subarray(24, 32).equals(q.subarray(40, 48)) &&
          Math.abs(readNtpTimestamp(r, 32) - t) < 1e-3 &&
          readNtpTimestamp(r, 16) <= readNtpTimestamp(r, 40)
        );
      }),
      { numRuns: 2000 },
    );
  });
});
