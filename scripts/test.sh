#!/usr/bin/env bash
# Runs the whole suite (unit, vectors, property, netns labs, interop) and ends
# with the plain count line CI reads: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
npm run build --silent || { echo "0 passed, 1 failed"; exit 1; }
report=$(mktemp /tmp/wgbgp-vitest-XXXXXX.json)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
rc=$?
# A test file that fails before its tests run (import error, failed beforeAll)
# counts as one failure, so a broken file can never look green.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const brokenFiles = r.testResults.filter(
    (f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"),
  ).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + brokenFiles} failed`);
' "$report" || { echo "0 passed, 1 failed"; rc=1; }
rm -f "$report"
exit $rc
