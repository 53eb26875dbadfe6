#!/usr/bin/env bash
# Builds the release twistlock-init with everything but the C library linked in statically: the
# Swift runtime and Foundation (--static-swift-stdlib), Lua 5.4, zlib, libstdc++ and libgcc. The
# result runs on any glibc-based image with glibc >= the build machine's (the Containerfile's
# runtime stage), with no Swift toolchain and no liblua5.4 package.
#
# How the system libraries end up static: the link asks for -llua5.4, -lz and -lstdc++ (from
# pkg-config, NIO and the Swift runtime); the linker takes, in each -L directory in order, the
# .so or else the .a. So the build links against a directory holding only the .a archives, first
# on the search path: SwiftPM puts lua5.4.pc's `-L${libdir}` first on the link line, so a copy of
# lua5.4.pc whose libdir is that directory (found first through PKG_CONFIG_PATH) puts it there.
# -static-libgcc does the same for the unwinder.
#
# Usage: tools/build-static.sh [OUT_DIR]
#   Builds in .build-release (not the shared debug .build; $SCRATCH_PATH overrides), then copies
#   the binary, stripped, and its resource bundles to OUT_DIR (default .build-release/dist) and
#   prints the binary's path. The unstripped binary (symbols and debug info: about 60 MB more)
#   stays in the scratch's release directory, for nm and debugging. Takes many minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch="${SCRATCH_PATH:-.build-release}"
out="${1:-$scratch/dist}"
mkdir -p "$scratch/static-libs" "$out"
scratch="$(cd "$scratch" && pwd)"
out="$(cd "$out" && pwd)"

libdir="$(pkg-config --variable=libdir lua5.4)"
# The toolchain's clang (always beside swift) knows where GCC's libstdc++.a is.
cc="$(command -v clang || command -v gcc || echo cc)"
for archive in "$libdir/liblua5.4.a" "$libdir/libz.a" "$("$cc" -print-file-name=libstdc++.a)"; do
  if [ ! -f "$archive" ]; then
    echo "build-static: $archive is missing (apt-get install liblua5.4-dev zlib1g-dev libstdc++-12-dev pkg-config)" >&2
    exit 1
  fi
  ln -sf "$archive" "$scratch/static-libs/$(basename "$archive")"
done
mkdir -p "$scratch/pkgconfig"
sed -e "s|^libdir=.*|libdir=$scratch/static-libs|" \
  "$(pkg-config --variable=pcfiledir lua5.4)/lua5.4.pc" >"$scratch/pkgconfig/lua5.4.pc"
export PKG_CONFIG_PATH="$scratch/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

# --force-resolved-versions: the versions of the committed Package.resolved, never a new resolution.
swift build -c release --product twistlock-init --scratch-path "$scratch" \
  --force-resolved-versions \
  --static-swift-stdlib \
  -Xlinker -L"$scratch/static-libs" \
  -Xswiftc -Xclang-linker -Xswiftc -static-libgcc >&2

bin="$(swift build -c release --product twistlock-init --scratch-path "$scratch" --show-bin-path)"
cp "$bin/twistlock-init" "$out/twistlock-init"
strip "$out/twistlock-init"
# Resource bundles live beside the binary (twistlock-init has none today: the console simulator's
# belongs to twistlock-demo and twistlock-console-sim, which the image does not carry).
for bundle in "$bin"/*.resources; do
  [ -d "$bundle" ] || continue
  rm -rf "$out/$(basename "$bundle")"
  cp -R "$bundle" "$out/"
done
echo "$out/twistlock-init"
