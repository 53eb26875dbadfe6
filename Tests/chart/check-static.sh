#!/usr/bin/env bash
# Shows that the release twistlock-init needs nothing beyond the C library: the Swift runtime,
# Foundation, Lua, zlib and the C++ runtime are linked in statically (tools/build-static.sh).
#
# Usage: Tests/chart/check-static.sh [BINARY [UNSTRIPPED]]
#   Without BINARY, builds it with tools/build-static.sh (many minutes; a build already in
#   .build-release is reused and only relinked when sources changed). The symbol checks read
#   UNSTRIPPED (default: the unstripped build beside tools/build-static.sh's, else BINARY).
# Prints `ldd` of the binary, checks with `nm` that no Hummingbird or simulator code is linked in,
# runs it (--help), and ends with "static: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="${1:-}"
syms="${2:-}"
if [ -z "$bin" ]; then
  bin="$(tools/build-static.sh)"
  syms="$(swift build -c release --product twistlock-init --scratch-path "${SCRATCH_PATH:-.build-release}" --show-bin-path)/twistlock-init"
fi
syms="${syms:-$bin}"

passed=0
failed=0
check() {  # check NAME COMMAND...
  if "${@:2}"; then
    echo "ok   $1"
    passed=$((passed + 1))
  else
    echo "FAIL $1"
    failed=$((failed + 1))
  fi
}

echo "ldd $bin:"
deps="$(ldd "$bin")"
echo "$deps" | sed 's/^/  /'

# The C library's own objects: libc, libm, libdl, libpthread, librt, the loader and the vDSO.
allowed='^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|/lib(64)?/ld-linux[-a-z0-9_.]*\.so\.[0-9]+|ld-linux[-a-z0-9_.]*\.so\.[0-9]+)$'
only_libc() {
  local bad
  bad="$(awk '{print $1}' <<<"$deps" | grep -Ev "$allowed" || true)"
  if [ -n "$bad" ]; then
    echo "  needs more than the C library: $(echo $bad)"
    return 1
  fi
}
no_swift_runtime() { ! grep -qE 'libswift|libFoundation|libdispatch|lib_FoundationICU' <<<"$deps"; }
no_lua() { ! grep -q 'liblua' <<<"$deps"; }
# Lua's own code is in the binary (grep reads all of nm's output: no SIGPIPE under pipefail).
links_lua_in() { nm "$syms" 2>/dev/null | grep -E ' [TtWw] lua_newstate$' >/dev/null; }
runs() { "$bin" --help >/dev/null; }
# The image's binary is the job alone: the demo and the simulators are binaries of their own
# (twistlock-demo, twistlock-console-sim), so no symbol of Hummingbird, its lifecycle library or
# the simulator modules may be in it. Swift's mangled names carry the module name; nm must list
# symbols at all (a stripped binary would pass by saying nothing: links_lua_in catches that).
no_server_code() {
  local found
  found="$(nm "$syms" 2>/dev/null | grep -E 'Hummingbird|ServiceLifecycle|ConsoleSimulator|KubeSimulator|SimulatorServing' | head -3 || true)"
  if [ -n "$found" ]; then
    echo "  links server code: $(echo $found)"
    return 1
  fi
}

check "needs only the C library" only_libc
check "no Swift runtime or Foundation library" no_swift_runtime
check "no liblua5.4.so" no_lua
check "Lua is linked in" links_lua_in
check "no Hummingbird or simulator symbol (nm)" no_server_code
check "runs (--help)" runs

echo "size: $(stat -c %s "$bin") bytes ($bin)"
echo "static: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
