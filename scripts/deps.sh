#!/usr/bin/env bash
# scripts/deps.sh - install the Debian packages dredis needs, when missing.
# Usage: scripts/deps.sh build|test|fuzz|bench
set -euo pipefail
# Lua itself is vendored (deps/lua): only lua-cjson comes from Debian.
build_pkgs="build-essential autoconf automake libtool pkg-config libevent-dev lua-cjson-dev check python3"
# systemd: systemd-analyze verify of the units (test_service.py).
# python3-redis, python3-rq, python3-celery, node and npm: the end-to-end tests (tests/e2e,
# tests/integration/test_e2e_*.py). nutcracker: twemproxy in front of three
# dredis servers (test_twemproxy.py). redis-sentinel: failover of dredis
# masters (test_sentinel.py). Debian's nodejs and npm only when there is
# no node or npm already (a Node.js from elsewhere brings its own npm, and
# Debian's npm package would not fit it).
test_pkgs="$build_pkgs strace redis-server redis-tools python3-redis python3-rq python3-celery systemd rclone nutcracker redis-sentinel"
# xfsprogs, btrfs-progs: scripts/fs-bench makes XFS and btrfs images (bench).
# gnuplot-nox: scripts/bench --doc draws the chart of the ratios to Redis.
# liburing-dev: scripts/fileops-bench --mode uring (built without it otherwise).
bench_pkgs="$build_pkgs redis-server redis-tools strace xfsprogs btrfs-progs gnuplot-nox liburing-dev"
command -v node >/dev/null 2>&1 || test_pkgs="$test_pkgs nodejs"
command -v npm >/dev/null 2>&1 || test_pkgs="$test_pkgs npm"
# clang and libclang-rt-14-dev (libFuzzer, ASan, UBSan): make fuzz and scripts/fuzz.
fuzz_pkgs="$build_pkgs clang libclang-rt-14-dev"
case "${1:-build}" in
  build) pkgs=$build_pkgs ;;
  fuzz) pkgs=$fuzz_pkgs ;;
  test) pkgs=$test_pkgs ;;
  bench) pkgs=$bench_pkgs ;;
  *) echo "usage: $0 build|test|fuzz|bench" >&2; exit 2 ;;
esac
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
