#!/usr/bin/env bash
# The benchmark (docs/benchmark.md): builds the benchmark and the console simulator in release
# mode, then runs the whole job against a simulated console with a 1,200-check catalog and 50
# existing rules per policy, printing wall time, requests, writes and peak memory.
# Arguments go to twistlock-bench (e.g. --check-targets, --json FILE, --keep-logs DIR,
# --catalog-size N, --rules-per-policy N); `--no-build` skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
args=()
for a in "$@"; do
  if [ "$a" = "--no-build" ]; then build=0; else args+=("$a"); fi
done
if [ "$build" = 1 ]; then
  # SwiftPM builds only the last --product given, so one product per command. The first
  # release build compiles SwiftNIO and takes several minutes on 2 cores.
  swift build -c release --product twistlock-console-sim
  swift build -c release --product twistlock-bench
fi
bin="$(swift build -c release --show-bin-path)"
exec "$bin/twistlock-bench" --builtin-steps steps --console-sim "$bin/twistlock-console-sim" ${args[@]+"${args[@]}"}
