#!/usr/bin/env bash
# scripts/build.sh - configure and build dredis out of tree.
# Usage: scripts/build.sh [BUILD_DIR] [extra configure args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true
[ -x "$top/configure" ] && [ "$top/configure" -nt "$top/configure.ac" ] && [ "$top/Makefile.in" -nt "$top/Makefile.am" ] \
  || (cd "$top" && autoreconf -fi >/dev/null)
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
  "$top/configure" -q "$@"
fi
make -j"$(nproc)" >/dev/null
