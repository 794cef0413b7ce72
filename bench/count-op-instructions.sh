#!/bin/sh
# Instructions per op, deepmetric vs PyTorch from Python, counted by callgrind (independent of load).
# Each probe runs at two op counts; (instructions(n2) − instructions(n1)) / (n2 − n1) is one op.
# Node's count is of the probe loop only (see bench/op-overhead.ts); Python's start-up count is
# steady enough (a few thousand instructions apart) to cancel in the difference.
#   sh bench/count-op-instructions.sh [probe…]   (after npx tsc -p .; outputs kept in $OUT)
set -eu
N1=${N1:-1000}
N2=${N2:-21000}
OUT=${OUT:-/tmp/dm-callgrind}
mkdir -p "$OUT"
export DEEPMETRIC_NUM_THREADS=1
probes=${*:-"napi-call napi-handle raw-add add add-tidy add-tidy1 raw-conv2d conv2d py:add py:conv2d"}
total() { grep -m1 '^summary:\|^totals:' "$1" | awk '{print $2}'; }
for p in $probes; do
  for n in $N1 $N2; do
    f="$OUT/$(echo "$p" | tr ':' '-')-$n.out"
    case $p in
      py:*) valgrind --tool=callgrind --callgrind-out-file="$f" /usr/bin/python3 bench/peer_op_overhead.py "${p#py:}" "$n" >/dev/null 2>&1 ;;
      *) valgrind --tool=callgrind --callgrind-out-file="$f" --collect-atstart=no \
           --toggle-collect='node::contextify::ContextifyScript::EvalMachine*' node dist/bench/op-overhead.js "$p" "$n" >/dev/null 2>&1 ;;
    esac
  done
  a=$(total "$OUT/$(echo "$p" | tr ':' '-')-$N1.out")
  b=$(total "$OUT/$(echo "$p" | tr ':' '-')-$N2.out")
  echo "$p $(( (b - a) / (N2 - N1) )) instructions/op"
done
