#!/usr/bin/env bash
# The chart tests: helm lint and template with the defaults and the values files of
# Tests/chart/values, every manifest validated against Kubernetes' schemas, the values schema
# refusing bad values, and the rendered job's values and steps fed to `twistlock-init list`.
#
# Installs what it needs when missing: helm (tools/install-helm.sh, cached in .tmp/helm) and the
# kubernetes-validate package. The `list` test uses .build/debug/twistlock-init (built by
# `swift build --product twistlock-init`; $TWISTLOCK_INIT_BIN overrides it).
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

python3 - "$report" "$code" <<'PY'
import sys
import xml.etree.ElementTree as ET

path, code = sys.argv[1], int(sys.argv[2])
try:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
except (OSError, ET.ParseError):
    total = failed = skipped = 0
    failed = 1 if code else 0
passed = total - failed - skipped
print(f"chart: {passed} passed, {failed} failed, {skipped} skipped")
PY

# pytest's 5 (no test collected) is a failure here too.
exit "$code"
