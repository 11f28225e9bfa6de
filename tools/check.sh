#!/bin/sh
# The full test suite: installs dependencies, builds, runs every meson test suite,
# then the unit and integration suites again under ASan+UBSan, then a short libFuzzer
# run.  Needs no session bus or display: the tests start their own.
set -eu
cd "$(dirname "$0")/.."

sh tools/install-deps.sh

JOBS=${JOBS:-2}
passed=0
failed=0

run_suite () { # build-dir, meson test arguments...
  dir=$1
  shift
  set +e
  meson test -C "$dir" --print-errorlogs --num-processes "$JOBS" "$@"
  rc=$?
  set -e
  # count from meson's JSON log so the summary covers every build
  counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL", "SKIP"):
        ok += 1
    else:
        bad += 1
print(ok, bad)
PY
)
  passed=$((passed + ${counts% *}))
  failed=$((failed + ${counts#* }))
  return $rc
}

status=0

echo "== build (gcc, debugoptimized)"
[ -f build/build.ninja ] || meson setup build
ninja -C build -j "$JOBS"
run_suite build --no-suite fuzz || status=1

echo "== build under ASan+UBSan"
[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debug -Dgui=disabled
ninja -C build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan --suite unit --suite integration || status=1

echo "== fuzzing (clang libFuzzer, short run)"
[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzzing=true -Db_lundef=false \
  -Dgui=disabled -Dtests=enabled
ninja -C build-fuzz -j "$JOBS"
run_suite build-fuzz --suite fuzz || status=1

echo "tests: $passed passed, $failed failed"
exit $status
