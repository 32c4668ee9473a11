#!/bin/sh
# tests/fuzz/replay.sh - make check's run of every fuzz harness over its
# corpus (tests/fuzz/corpus/<harness>/: the seeds and every crash found),
# with the replay drivers built by make check (no fuzzing, no clang).
# FUZZ_DIR: tests/fuzz in the source tree; FUZZ_BIN: where replay_* are.
set -eu
FUZZ_DIR=${FUZZ_DIR:-$(dirname "$0")}
FUZZ_BIN=${FUZZ_BIN:-$FUZZ_DIR}
# the harnesses' scratch trees, removed even after a failing input
FUZZ_SCRATCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dredis-fuzz-replay-XXXXXX")
export FUZZ_SCRATCH_DIR
trap 'rm -rf "$FUZZ_SCRATCH_DIR"' EXIT
status=0
for dir in "$FUZZ_DIR"/corpus/*/; do
  h=$(basename "$dir")
  if [ ! -x "$FUZZ_BIN/replay_$h" ]; then
    echo "FAIL: corpus $h has no harness ($FUZZ_BIN/replay_$h)"
    status=1
    continue
  fi
  "$FUZZ_BIN/replay_$h" "$dir" || { echo "FAIL: $h"; status=1; }
done
exit $status
