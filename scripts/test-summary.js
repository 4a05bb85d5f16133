// Prints one closing line for the test run, and the counts per database, from Jest's --json output.
const { readFileSync } = require('node:fs');

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const perDatabase = { sqlite: 0, postgres: 0 };
for (const suite of report.testResults) {
  for (const test of suite.assertionResults) {
    const title = [...test.ancestorTitles, test.title].join(' ');
    for (const db of Object.keys(perDatabase)) {
      if (test.status === 'passed' && new RegExp(`\\b(on|with) ${db}\\b`).test(title)) perDatabase[db] += 1;
    }
  }
}
console.log(`database-backed tests passed: sqlite ${perDatabase.sqlite}, postgres ${perDatabase.postgres}`);
console.log(
  `tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`,
);
