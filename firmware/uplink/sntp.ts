// An SNTP client (RFC 4330) over Espruino's dgram: one request, one answer, and the clock's
// offset from it with the round trip taken out. Battery nodes use it instead of the ESP32's
// lwIP SNTP (Wifi.setSNTP), whose answer Espruino reports by no event: a wake cannot tell it
// from no answer, nor know by how much the clock moved. Firmware code: ES5, Espruino subset.

/** seconds from 1900 (NTP's era 0) to 1970 */
var NTP_UNIX_S = 2208988800;
var TWO_32 = 4294967296;

/** a client request whose transmit timestamp is `t` ms (the server echoes it as its originate) */
export function sntpRequest(t: number): string {
  // LI 0, version 4, mode 3 (client); the rest zero but the transmit timestamp
  var s = String.fromCharCode(0x23);
  for (var i = 1; i < 40; i++) s += "\0";
  return s + ntpStamp(t);
}

function ntpStamp(t: number): string {
  var sec = Math.floor(t / 1000), frac = Math.floor(((t - sec * 1000) / 1000) * TWO_32);
  return word((sec + NTP_UNIX_S) % TWO_32) + word(frac);
}

function word(v: number): string {
  return String.fromCharCode((v / 16777216) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

function readWord(s: string, at: number): number {
  return s.charCodeAt(at) * 16777216 + (s.charCodeAt(at + 1) << 16) + (s.charCodeAt(at + 2) << 8) + s.charCodeAt(at + 3);
}

/** an NTP timestamp at `at`, ms since 1970 (seconds below 2^31 are era 1: after 2036, RFC 4330 section 3) */
function readStamp(s: string, at: number): number {
  var sec = readWord(s, at);
  if (sec < 2147483648) sec += TWO_32;
  return (sec - NTP_UNIX_S) * 1000 + (readWord(s, at + 4) / TWO_32) * 1000;
}

/**
 * The offset to add to the clock, ms, from the answer to `request` sent at t1 and received at
 * t4 (both by the clock); null for anything that is not a usable answer to it: too short, not a
 * server's, an unsynchronised or "kiss-o'-death" server (stratum 0), not echoing our request.
 */
export function sntpOffset(reply: string, request: string, t1: number, t4: number): number | null {
  if (typeof reply !== "string" || reply.length < 48) return null;
  var b0 = reply.charCodeAt(0), stratum = reply.charCodeAt(1);
  if ((b0 & 7) !== 4 || b0 >> 6 === 3 || stratum < 1 || stratum > 15) return null;
  if (reply.substr(24, 8) !== request.substr(40, 8) || readWord(reply, 40) === 0) return null;
  return (readStamp(reply, 32) - t1 + (readStamp(reply, 40) - t4)) / 2;
}

/**
 * Ask `server` ("host" or "host:port", port 123 by default) once; cb(offset ms, round trip
 * ms) on a usable answer, cb(null, reason) on none within `timeoutMs`. Never throws.
 */
export function sntpQuery(dgram: DgramModule, server: string, timeoutMs: number, cb: (offset: number | null, info: number | string) => void): void {
  var sock: DgramSocket | null = null, t: any = null, done = false, t1 = 0, req = "";
  var finish = function (off: number | null, info: number | string) {
    if (done) return;
    done = true;
    if (t) clearTimeout(t);
    try {
      if (sock) sock.close();
    } catch (e) {
      // already closed
    }
    cb(off, info);
  };
  var colon = server.lastIndexOf(":"), host = colon > 0 ? server.substr(0, colon) : server, port = colon > 0 ? parseInt(server.substr(colon + 1), 10) : 123;
  t = setTimeout(function () {
    finish(null, "no answer from " + server + " in " + timeoutMs + " ms");
  }, timeoutMs);
  try {
    sock = dgram.createSocket("udp4");
    sock.on("message", function (msg: string) {
      var t4 = Date.now(), off = sntpOffset(msg, req, t1, t4);
      // anything else (a late answer to another request, garbage) is not ours: keep waiting
      if (off !== null) finish(off, t4 - t1);
    });
    t1 = Date.now();
    req = sntpRequest(t1);
    sock.send(req, port, host);
  } catch (e) {
    finish(null, "sntp: " + e);
  }
}
