import { expect } from "chai";
import { plainProgress } from "../../tools/reporter.js";

describe("field tools: reporter", () => {
  it("prints progress as a plain line every 10 % when not on a terminal", () => {
    const lines: string[] = [];
    const p = plainProgress("flash", 1000, (l) => lines.push(l));
    for (let done = 0; done <= 1000; done += 96) p.update(done);
    p.update(1000);
    expect(lines[0]).to.equal("flash: 0% (0/1000 bytes)");
    expect(lines[lines.length - 1]).to.equal("flash: 100% (1000/1000 bytes)");
    expect(lines.length).to.equal(11);
  });
});
