import { expect } from "chai";
import { installVirtualTime, settle } from "./virtual-time.js";

describe("virtual time for host tests", () => {
  it("drives global setTimeout and Date.now from the virtual clock", async () => {
    const vt = installVirtualTime(0);
    try {
      const p = new Promise<number>((resolve) => setTimeout(() => resolve(Date.now()), 5000));
      expect(await settle(vt.clock, p)).to.equal(5000);
    } finally {
      vt.restore();
    }
    expect(Date.now()).to.be.greaterThan(1e12);
  });
});
