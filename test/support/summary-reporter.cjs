// Mocha's dot reporter plus one plain closing line, "N passed, N failed[, N skipped]",
// which CI reads whatever the runner.
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Dot {
  constructor(runner, options) {
    super(runner, options);
    runner.once("end", () => {
      const s = runner.stats;
      console.log(`${s.passes} passed, ${s.failures} failed` + (s.pending ? `, ${s.pending} skipped` : ""));
    });
  }
}

module.exports = SummaryReporter;
