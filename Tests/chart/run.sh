#!/usr/bin/env bash
# The chart tests: helm lint and template with the defaults and the values files of
# Tests/chart/values, every manifest validated against Kubernetes' schemas, the values schema
# refusing bad values, and the rendered job's values and steps fed to `twistlock-init list`.
#
# Installs what it needs when missing: helm (tools/install-helm.sh, cached in .tmp/helm) and the
# kubernetes-validate package. The `list` test uses .build/debug/twistlock-init (built by
# `swift build --product twistlock-init`; $TWISTLOCK_INIT_BIN overrides it).
#
# In CI (CI=true), or with TWISTLOCK_STATIC_CHECK=1, it also builds the release binary as the
# Containerfile does and shows with ldd that it needs only the C library
# (Tests/chart/check-static.sh; a first release build takes 10+ minutes on 2 cores).
# TWISTLOCK_STATIC_CHECK=0 skips that.
#
# Ends with one line "chart: N passed, N failed, N skipped"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM="$(tools/install-helm.sh)"
export HELM
python3 -c 'import kubernetes_validate' 2>/dev/null || python3 -m pip install -q kubernetes-validate
python3 -c 'import pytest, yaml, jsonschema' 2>/dev/null || python3 -m pip install -q pytest pyyaml jsonschema

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
set +e
python3 -m pytest Tests/chart -q -p no:cacheprovider --junitxml="$report" "$@"
code=$?
set -e

static_passed=0
static_failed=0
if [ "${TWISTLOCK_STATIC_CHECK:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}" = 1 ]; then
  static_log="$(mktemp)"
  set +e
  Tests/chart/check-static.sh 2>&1 | tee "$static_log"
  static_code=${PIPESTATUS[0]}
  set -e
  line="$(grep -E '^static: [0-9]+ passed, [0-9]+ failed' "$static_log" | tail -1 || true)"
  rm -f "$static_log"
  if [ -n "$line" ]; then
    static_passed="$(sed -E 's/^static: ([0-9]+) passed.*/\1/' <<<"$line")"
    static_failed="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
  fi
  if [ "$static_code" -ne 0 ] && [ "$static_failed" -eq 0 ]; then
    static_failed=1  # the build itself failed
  fi
  if [ "$static_code" -ne 0 ] && [ "$code" -eq 0 ]; then code=1; fi
fi

python3 - "$report" "$code" "$static_passed" "$static_failed" <<'PY'
import sys
import xml.etree.ElementTree as ET

path, code = sys.argv[1], int(sys.argv[2])
static_passed, static_failed = int(sys.argv[3]), int(sys.argv[4])
try:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
except (OSError, ET.ParseError):
    total = failed = skipped = 0
    failed = 1 if code else 0
passed = total - failed - skipped + static_passed
failed += static_failed
print(f"chart: {passed} passed, {failed} failed, {skipped} skipped")
PY

# pytest's 5 (no test collected) is a failure here too.
exit "$code"
