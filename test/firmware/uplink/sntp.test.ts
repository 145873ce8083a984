// The SNTP client's packets (RFC 4330 section 4: 48 bytes, timestamps in seconds since 1900 and
// a 2^-32 fraction, big-endian) against fixtures built from the RFC's field layout, and garbage.
import { expect } from "chai";
import fc from "fast-check";
import { sntpRequest, sntpOffset, sntpQuery } from "../../../firmware/uplink/sntp.js";

const NTP_UNIX_S = 2208988800;
const bin = (b: Buffer) => b.toString("latin1");

/** an NTP timestamp of `ms` since 1970, written independently of the client's encoder */
function stamp(ms: number): Buffer {
  const b = Buffer.alloc(8);
  const sec = Math.floor(ms / 1000);
  b.writeUInt32BE((sec + NTP_UNIX_S) % 2 ** 32, 0);
  b.writeUInt32BE(Math.floor(((ms - sec * 1000) / 1000) * 2 ** 32), 4);
  return b;
}

/** a server's reply to `request`: received at t2, sent at t3 (true time, ms) */
function reply(request: string, t2: number, t3: number, over: { b0?: number; stratum?: number } = {}): string {
  const b = Buffer.alloc(48);
  b[0] = over.b0 ?? 0x24; // LI 0, VN 4, mode 4 (server)
  b[1] = over.stratum ?? 2;
  b[2] = 6; // poll
  b[3] = 0xec; // precision 2^-20 s
  b.write("\x0a\x00\x00\x01", 12, "latin1"); // reference id: the upstream server's address
  stamp(t3 - 60000).copy(b, 16); // reference
  Buffer.from(request, "latin1").copy(b, 24, 40, 48); // originate = the request's transmit
  stamp(t2).copy(b, 32); // receive
  stamp(t3).copy(b, 40); // transmit
  return bin(b);
}

describe("SNTP client (firmware/uplink/sntp.ts)", () => {
  const T = Date.UTC(2026, 11, 6, 12, 0, 0);

  it("asks as a version 4 client whose transmit timestamp is its clock", () => {
    const q = Buffer.from(sntpRequest(T + 250), "latin1");
    expect(q.length).to.equal(48);
    expect(q[0]).to.equal(0x23); // LI 0, VN 4, mode 3
    expect(q.subarray(1, 40).every((x) => x === 0)).to.equal(true);
    expect(q.readUInt32BE(40)).to.equal(T / 1000 + NTP_UNIX_S);
    expect(q.readUInt32BE(44) / 2 ** 32).to.be.closeTo(0.25, 1e-9);
  });

  it("takes the round trip out: a clock 90 s fast, 40 ms each way, 2 ms in the server", () => {
    // client clock says t1 = T + 90 s at true time T; the server receives at T + 40, answers at T + 42
    const t1 = T + 90000, req = sntpRequest(t1);
    const r = reply(req, T + 40, T + 42);
    const off = sntpOffset(r, req, t1, t1 + 82);
    expect(off).to.be.closeTo(-90000, 1);
  });

  it("reads a timestamp past 2036 (NTP era 1) as after, not 1900", () => {
    const t = Date.UTC(2040, 0, 1), req = sntpRequest(t - 5000);
    expect(sntpOffset(reply(req, t, t), req, t - 5000, t - 5000)).to.be.closeTo(5000, 1);
  });

  it("refuses what is no usable answer to this request", () => {
    const t1 = T, req = sntpRequest(t1);
    const ok = reply(req, T, T);
    expect(sntpOffset(ok, req, t1, t1)).to.be.closeTo(0, 1);
    expect(sntpOffset(ok.slice(0, 47), req, t1, t1), "short").to.equal(null);
    expect(sntpOffset(reply(req, T, T, { b0: 0x23 }), req, t1, t1), "a client's packet").to.equal(null);
    expect(sntpOffset(reply(req, T, T, { b0: 0xe4 }), req, t1, t1), "LI 3: unsynchronised").to.equal(null);
    expect(sntpOffset(reply(req, T, T, { stratum: 0 }), req, t1, t1), "kiss-o'-death").to.equal(null);
    expect(sntpOffset(reply(req, T, T, { stratum: 16 }), req, t1, t1), "unsynchronised stratum").to.equal(null);
    expect(sntpOffset(reply(sntpRequest(t1 - 1000), T, T), req, t1, t1), "another request's answer").to.equal(null);
    const zero = Buffer.from(ok, "latin1");
    zero.fill(0, 40, 48);
    expect(sntpOffset(bin(zero), req, t1, t1), "no transmit time").to.equal(null);
  });

  it("never throws on garbage, and finds an offset only in a well-formed answer", () => {
    const req = sntpRequest(T);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        const off = sntpOffset(bin(Buffer.from(bytes)), req, T, T + 30);
        // an answer needs its originate to echo the 8 bytes sent: random bytes almost never do
        expect(off).to.equal(null);
      }),
    );
  });

  it("finds any offset and round trip to within a millisecond", () => {
    fc.assert(
      fc.property(fc.integer({ min: -3_600_000, max: 3_600_000 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 50 }), (fast, oneWay, inServer) => {
        const t1 = T + fast, req = sntpRequest(t1);
        const r = reply(req, T + oneWay, T + oneWay + inServer);
        expect(sntpOffset(r, req, t1, t1 + 2 * oneWay + inServer)).to.be.closeTo(-fast, 1);
      }),
    );
  });

  describe("sntpQuery", () => {
    /** a dgram stand-in: records what is sent; `answer` decides the reply */
    function fakeDgram(answer: (req: string) => string | null, opts: { throwOnSend?: boolean } = {}) {
      const sent: Array<{ data: string; port: number; host: string }> = [];
      let closed = 0;
      const mod = {
        createSocket: () => {
          let onMsg: ((m: string) => void) | undefined;
          return {
            on: (ev: string, fn: any) => {
              if (ev === "message") onMsg = fn;
            },
            send: (data: string, port: number, host: string) => {
              if (opts.throwOnSend) throw new Error("Not connected to the internet");
              sent.push({ data, port, host });
              const r = answer(data);
              // a late answer to somebody else's request comes first
              setTimeout(() => onMsg?.(reply(sntpRequest(1), 0, 0)), 1);
              if (r !== null) setTimeout(() => onMsg?.(r), 5);
            },
            close: () => {
              closed++;
            },
          };
        },
      };
      return { mod: mod as unknown as DgramModule, sent, closed: () => closed };
    }

    it("asks host:port, ignores a stray packet and answers with the offset, then closes", async () => {
      const f = fakeDgram((req) => reply(req, Date.now() + 30000, Date.now() + 30000));
      const res = await new Promise<[number | null, number | string]>((ok) => sntpQuery(f.mod, "10.0.0.1:12323", 1000, (o, i) => ok([o, i])));
      expect(f.sent).to.have.length(1);
      expect(f.sent[0]).to.include({ port: 12323, host: "10.0.0.1" });
      expect(res[0]).to.be.closeTo(30000, 50);
      expect(f.closed()).to.equal(1);
    });

    it("gives up after its timeout when nothing (usable) comes, and never throws", async () => {
      const quiet = fakeDgram(() => "\x24garbage");
      const r1 = await new Promise<[number | null, number | string]>((ok) => sntpQuery(quiet.mod, "pool.ntp.org", 50, (o, i) => ok([o, i])));
      expect(r1[0]).to.equal(null);
      expect(String(r1[1])).to.match(/no answer from pool\.ntp\.org in 50 ms/);
      expect(quiet.sent[0]).to.include({ port: 123, host: "pool.ntp.org" });
      const down = fakeDgram(() => null, { throwOnSend: true });
      const r2 = await new Promise<[number | null, number | string]>((ok) => sntpQuery(down.mod, "pool.ntp.org", 50, (o, i) => ok([o, i])));
      expect(r2).to.deep.equal([null, "sntp: Error: Not connected to the internet"]);
    });
  });
});
