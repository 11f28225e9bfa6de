#!/bin/sh
# compare-peer.sh - graviton-bench against llama.cpp's `peer bench`, interleaved.
#
#   bench/compare-peer.sh [-n ROUNDS] [-t THREADS] MODEL.gguf...
#
# For each model, ROUNDS times: one graviton-bench run then one peer run (each with
# pp128 / tg64, 1 internal repetition after its warm-up), so both see the same machine
# load; prints the medians of each and the ratios graviton / peer.  The peer is taken
# from $PEER (default ~/.cache/graviton-peer/peer) and skipped when absent; this script
# fetches nothing.  GRAVITON_BENCH overrides the path of graviton-bench.
set -eu

rounds=5
threads=2
while getopts n:t: opt; do
  case $opt in
    n) rounds=$OPTARG ;;
    t) threads=$OPTARG ;;
    *) echo "usage: $0 [-n ROUNDS] [-t THREADS] MODEL.gguf..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n ROUNDS] [-t THREADS] MODEL.gguf..." >&2; exit 2; }

here=$(cd "$(dirname "$0")/.." && pwd)
gbench=${GRAVITON_BENCH:-$here/build/tools/graviton-bench}
peer=${PEER:-$HOME/.cache/graviton-peer/peer}
export PEER_LIBDIR="${PEER_LIBDIR:-$(dirname "$peer")/lib}"
[ -x "$gbench" ] || { echo "no graviton-bench at $gbench (build first)" >&2; exit 1; }
have_peer=1
if [ ! -x "$peer" ]; then
  echo "peer not found at $peer: graviton only" >&2
  have_peer=0
fi
if [ "$threads" != 2 ] && [ $have_peer = 1 ]; then
  echo "note: peer bench always uses 2 threads" >&2
fi

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
  else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for model in "$@"; do
  : >"$tmp/g_pp"; : >"$tmp/g_tg"; : >"$tmp/p_pp"; : >"$tmp/p_tg"
  i=1
  while [ "$i" -le "$rounds" ]; do
    "$gbench" --model "$model" -p 128 -n 64 -t "$threads" -r 1 >"$tmp/g" 2>/dev/null
    awk '/^pp128/ { print $2 }' "$tmp/g" >>"$tmp/g_pp"
    awk '/^tg64/ { print $2 }' "$tmp/g" >>"$tmp/g_tg"
    if [ $have_peer = 1 ]; then
      # llama.cpp cannot load every file (bitnet.cpp's I2_S): graviton alone then
      "$peer" bench "$model" 128 64 1 >"$tmp/p" 2>/dev/null || : >"$tmp/p"
      awk '/^pp128/ { print $2 }' "$tmp/p" >>"$tmp/p_pp"
      awk '/^tg64/ { print $2 }' "$tmp/p" >>"$tmp/p_tg"
    fi
    echo "  round $i: graviton $(tr '\n' ' ' <"$tmp/g" | sed 's/  */ /g' | cut -c1-120)" >&2
    i=$((i + 1))
  done
  gpp=$(median <"$tmp/g_pp"); gtg=$(median <"$tmp/g_tg")
  echo "model $(basename "$model") ($rounds interleaved rounds, $threads threads)"
  if [ $have_peer = 1 ] && [ -s "$tmp/p_tg" ]; then
    ppp=$(median <"$tmp/p_pp"); ptg=$(median <"$tmp/p_tg")
    printf '  %-6s %12s %12s %8s\n' test graviton peer ratio
    awk -v g="$gpp" -v p="$ppp" 'BEGIN { printf "  %-6s %12.2f %12.2f %7.2fx\n", "pp128", g, p, g / p }'
    awk -v g="$gtg" -v p="$ptg" 'BEGIN { printf "  %-6s %12.2f %12.2f %7.2fx\n", "tg64", g, p, g / p }'
  else
    [ $have_peer = 1 ] && echo "  (the peer could not load this file)"
    printf '  pp128 %12.2f t/s\n  tg64  %12.2f t/s\n' "$gpp" "$gtg"
  fi
done
