#!/usr/bin/env bash
# Runs every test of twistlock-init: the Swift tests (Lua host, values, manifest, simulator,
# Kubernetes client, every step end to end against the simulators), then the chart tests.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
if [ -x Tests/chart/run.sh ]; then Tests/chart/run.sh; fi
