#!/usr/bin/env bash
# make bench: every benchmark of embedlab against its peer, in one run, 2 threads.
# Peers are Debian packages (python3-numpy, python3-gensim, python3-faiss, python3-torch); a peer that
# is not installed is reported as such (EMBEDLAB_SETUP_EXTRA=1 scripts/setup.sh installs them).
set -uo pipefail
build=${1:-build}
bin=$build/bin
py=/usr/bin/python3
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

section() { printf '\n=== %s ===\n' "$1"; }
peer() {  # peer NAME SCRIPT ARGS...: runs a Python peer if its modules import
  local mods=$1; shift
  if $py -c "import $mods" 2>/dev/null; then "$py" "$@"; else echo "peer skipped: python3 module(s) $mods not installed"; fi
}
result() { sed -n 's/^RESULT .*seconds=\([0-9.e+-]*\).*/\1/p' "$1" | head -1; }

section "machine"
echo "$(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS"

section "random_variance: pairs × d per second (target ≥ 5× NumPy)"
"$bin/bench_random_variance" 20000 2 | tee "$tmp/rv.txt"
peer numpy scripts/bench_random_variance_numpy.py 20000 | tee "$tmp/rv_np.txt"
a=$(result "$tmp/rv.txt"); b=$(result "$tmp/rv_np.txt")
[[ -n "$a" && -n "$b" ]] && awk -v a="$a" -v b="$b" 'BEGIN{printf "ratio: embedlab is %.1f× NumPy\n", b/a}'

for b in "$bin"/bench_*; do
  name=$(basename "$b")
  [[ "$name" == bench_random_variance ]] && continue
  section "$name"
  "$b" --peers || echo "$name failed (exit $?)"
done
