#!/bin/sh
# Instructions per op, deepmetric vs PyTorch from Python, counted by callgrind (independent of load).
#   sh bench/count-op-instructions.sh [node|python]   (after npx tsc -p .; outputs kept in $OUT)
# Node: one process runs every probe three times (warm-up, n1, n2 ops), each inside its own
# vm.runInThisContext call that callgrind counts alone and dumps to its own part file (see
# bench/op-overhead.ts); one op is (count(n2) − count(n1)) / (n2 − n1). --single-threaded keeps
# V8's optimizing compiler and GC on the main thread: tier-up then happens at the same point in
# every run (under valgrind a background compile can lag by thousands of iterations), and the GC
# work an op causes is counted, as Python's deallocation is.
# Python: a process per probe and n; its start-up count is steady to a few thousand instructions,
# so the same difference leaves one op.
set -eu
OUT=${OUT:-/tmp/dm-callgrind}
mkdir -p "$OUT"
export DEEPMETRIC_NUM_THREADS=1
which=${1:-all}
total() { grep -m1 '^summary:\|^totals:' "$1" | awk '{print $2}'; }
if [ "$which" != python ]; then
  probes="napi-call:2000:5000:15000 napi-handle:2000:5000:15000 raw-add:2000:5000:15000 add:2000:5000:15000 add-tidy:2000:5000:15000 add-tidy1:2000:5000:15000 raw-conv2d:1000:2000:6000 raw-conv2d-int:1000:2000:6000 conv2d:1000:2000:6000"
  args=""
  for p in $probes; do
    name=${p%%:*}; ns=${p#*:}
    for n in $(echo "$ns" | tr ':' ' '); do args="$args $name:$n"; done
  done
  rm -f "$OUT"/node.out*
  TOGGLE='node::contextify::ContextifyScript::EvalMachine*'
  valgrind --tool=callgrind --callgrind-out-file="$OUT/node.out" --collect-atstart=no \
    --toggle-collect="$TOGGLE" --dump-after='*EvalMachine*' node --single-threaded dist/bench/op-overhead.js $args >/dev/null 2>&1
  k=0
  for p in $probes; do
    name=${p%%:*}; ns=${p#*:}; n1=$(echo "$ns" | cut -d: -f2); n2=$(echo "$ns" | cut -d: -f3)
    a=$(total "$OUT/node.out.$((k + 2))"); b=$(total "$OUT/node.out.$((k + 3))")
    echo "$name $(( (b - a) / (n2 - n1) )) instructions/op"
    k=$((k + 3))
  done
fi
if [ "$which" != node ]; then
  for p in add:10000:30000 conv2d:2000:6000; do
    name=${p%%:*}; n1=$(echo "$p" | cut -d: -f2); n2=$(echo "$p" | cut -d: -f3)
    for n in $n1 $n2; do
      valgrind --tool=callgrind --callgrind-out-file="$OUT/py-$name-$n.out" /usr/bin/python3 bench/peer_op_overhead.py "$name" "$n" >/dev/null 2>&1
    done
    a=$(total "$OUT/py-$name-$n1.out"); b=$(total "$OUT/py-$name-$n2.out")
    echo "py:$name $(( (b - a) / (n2 - n1) )) instructions/op"
  done
fi
