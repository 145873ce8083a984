// `casanode diag --web`: the page's own three files on localhost, nothing else.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { serveDiagPage } from "../../tools/diag-web.js";

describe("casanode diag --web", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "casanode-diagweb-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("serves the page, its script and style on localhost with a strict policy, and nothing else", async () => {
    writeFileSync(path.join(dir, "index.html"), "<!DOCTYPE html><title>t</title>");
    writeFileSync(path.join(dir, "diag.js"), "1");
    writeFileSync(path.join(dir, "diag.css"), "a{}");
    writeFileSync(path.join(dir, "secret.txt"), "no");
    const web = await serveDiagPage(0, dir);
    try {
      expect(web.url).to.match(/^http:\/\/localhost:\d+\/$/);
      const index = await fetch(web.url);
      expect(index.status).to.equal(200);
      expect(index.headers.get("content-type")).to.equal("text/html; charset=utf-8");
      expect(index.headers.get("content-security-policy")).to.include("default-src 'self'");
      expect(await index.text()).to.equal("<!DOCTYPE html><title>t</title>");
      expect((await fetch(web.url + "diag.js")).headers.get("content-type")).to.equal("text/javascript; charset=utf-8");
      for (const p of ["secret.txt", "..%2fpackage.json", "../package.json", "dist/diag/diag.js"]) expect((await fetch(web.url + p)).status, p).to.equal(404);
      expect((await fetch(web.url, { method: "POST" })).status).to.equal(405);
    } finally {
      await web.close();
    }
  });

  it("says to build first when the page is missing", async () => {
    const err = await serveDiagPage(0, path.join(dir, "none")).catch((e: Error) => e);
    expect((err as Error).message).to.match(/^the diagnostics page is not built \(.*index\.html missing\): run npm run build first$/);
  });
});
