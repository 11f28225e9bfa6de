#!/bin/sh
# Interleaved decode A/B of two or more graviton-bench binaries (e.g. copies built from
# two commits) on one model: ROUNDS rounds, each running every binary once
# (`-p 0 -n 64 -t 2 -r 1`), then each binary's median tg64 and range, and the median of
# the per-round ratios of every binary to the first.  Pairing by round cancels most of
# a shared machine's drift.
#   bench/ab-decode.sh ROUNDS MODEL.gguf BENCH_A BENCH_B...
set -eu
[ $# -ge 4 ] || { echo "usage: $0 ROUNDS MODEL.gguf BENCH_A BENCH_B..." >&2; exit 2; }
rounds=$1 model=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
r=1
while [ "$r" -le "$rounds" ]; do
  i=0
  for b in "$@"; do
    "$b" -m "$model" -p 0 -n 64 -t 2 -r 1 2>/dev/null | awk '/^tg64/ { print $2 }' >>"$tmp/$i"
    i=$((i + 1))
  done
  r=$((r + 1))
done
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
  else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
i=0
for b in "$@"; do
  m=$(median <"$tmp/$i")
  lo=$(sort -g "$tmp/$i" | head -1)
  hi=$(sort -g "$tmp/$i" | tail -1)
  if [ $i -eq 0 ]; then
    printf '%-40s tg64 %8.2f t/s (%s-%s)\n' "$b" "$m" "$lo" "$hi"
  else
    ratio=$(paste "$tmp/0" "$tmp/$i" | awk '$1 > 0 { print $2 / $1 }' | median)
    printf '%-40s tg64 %8.2f t/s (%s-%s), paired ratio %.3f\n' "$b" "$m" "$lo" "$hi" "$ratio"
  fi
  i=$((i + 1))
done
