import { expect } from "chai";
import fc from "fast-check";
import { nodeTopics, parseTopic, validId, idError, topicFor, clientIdFor, siteFilter, statusPayload, TOPIC_KINDS } from "../../../firmware/messages/topics.js";

describe("topics", () => {
  it("builds the five topics of a node under casanode/<site>/<node>/", () => {
    expect(nodeTopics("casa-anfa", "n07")).to.deep.equal({
      data: "casanode/casa-anfa/n07/data",
      status: "casanode/casa-anfa/n07/status",
      diag: "casanode/casa-anfa/n07/diag",
      cmd: "casanode/casa-anfa/n07/cmd",
      ack: "casanode/casa-anfa/n07/ack",
    });
    expect(clientIdFor("casa-anfa", "n07")).to.equal("casanode-casa-anfa-n07");
    expect(siteFilter("casa-anfa", "data")).to.equal("casanode/casa-anfa/+/data");
    expect(siteFilter()).to.equal("casanode/+/+/+");
  });
  it("accepts only 1-24 chars of a-z 0-9 _ -", () => {
    for (const ok of ["a", "n7", "site_1", "x-y", "a".repeat(24)]) expect(validId(ok), ok).to.equal(true);
    for (const bad of ["", "A", "a/b", "+", "#", "a b", "caf\u00e9", "a".repeat(25), 7, null, undefined]) expect(validId(bad), String(bad)).to.equal(false);
    expect(idError("s", "N")).to.match(/node id/);
    expect(idError("S", "n")).to.match(/site id/);
    expect(() => topicFor("s/x", "n", "data")).to.throw(/site id/);
  });
  it("parses its own topics back and nothing else", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9_-]{1,24}$/), fc.stringMatching(/^[a-z0-9_-]{1,24}$/), fc.constantFrom(...TOPIC_KINDS), (site, node, kind) => {
        expect(parseTopic(topicFor(site, node, kind))).to.deep.equal({ site, node, kind });
      }),
    );
    for (const t of ["casanode/s/n", "casanode/s/n/data/x", "other/s/n/data", "casanode/S/n/data", "casanode/s/n/foo"]) expect(parseTopic(t), t).to.equal(null);
  });
  it("status payloads", () => {
    expect(JSON.parse(statusPayload("offline"))).to.deep.equal({ state: "offline" });
    expect(JSON.parse(statusPayload("online", { fw: "0.1.0", state: "ignored" }))).to.deep.equal({ state: "online", fw: "0.1.0" });
  });
});
