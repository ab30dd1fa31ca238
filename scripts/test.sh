#!/usr/bin/env bash
# Runs the whole suite (unit, vectors, property, netns labs, interop) and ends
# with the plain count line CI reads: "N passed, N failed, N skipped". The
# expected skips are the real-VPP file (it needs WGBGP_VPP_PREFIX, a VPP built
# as in the reference recipe) and the kernel WireGuard lab test (it needs the
# wireguard module, which CI's kernel does not have).
set -uo pipefail
cd "$(dirname "$0")/.."
npm run build --silent || { echo "0 passed, 1 failed"; exit 1; }
report=$(mktemp /tmp/wgbgp-vitest-XXXXXX.json)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
rc=$?
# A test file that fails before its tests run (import error, failed beforeAll)
# counts as one failure, so a broken file can never look green. Under CI=true
# a skipped test counts as failed too (CI has root, namespaces and the Debian
# peers), except the real-VPP file: CI has no real VPP.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const brokenFiles = r.testResults.filter(
    (f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"),
  ).length;
  const skippedIn = (f) => f.assertionResults.filter((a) => a.status === "pending" || a.status === "skipped" || a.status === "todo").length;
  // Prerequisites CI cannot have: a real VPP, and the kernel WireGuard module
  // (issue 12: that backend is tested against recorded netlink exchanges, its
  // lab test skips and says why where the module is absent).
  const expectedSkip = ["test/vpp/real-vpp.test.ts", "test/lab/kernel-wireguard.test.ts"];
  let skipped = 0;
  let mustNotSkip = 0;
  for (const f of r.testResults) {
    const n = skippedIn(f);
    skipped += n;
    if (n > 0 && process.env.CI === "true" && !expectedSkip.some((e) => f.name.endsWith(e))) {
      mustNotSkip += n;
      console.log(`CI: ${n} test(s) skipped in ${f.name}: counted as failed (a prerequisite is missing)`);
    }
  }
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + brokenFiles + mustNotSkip} failed, ${skipped - mustNotSkip} skipped`);
  if (mustNotSkip > 0) process.exit(3);
' "$report"
case $? in
  0) ;;
  3) rc=1 ;;
  *) echo "0 passed, 1 failed"; rc=1 ;;
esac
rm -f "$report"
exit $rc
