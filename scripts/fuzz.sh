#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (make fuzz, or
# `CC=clang CXX=clang++ cmake -B build-fuzz -DEMBEDLAB_FUZZ=ON && cmake --build build-fuzz --target fuzz_targets`)
# for SECONDS each, from the checked-in seeds (tests/fuzz/corpus/<target>/) plus a working corpus
# kept in BUILD/fuzz-corpus/<target>/. Prints executions per target; exits 1 if any target crashed,
# leaked, timed out or ran out of memory (the input is saved under BUILD/fuzz-artifacts/).
# Usage: scripts/fuzz.sh BUILD [SECONDS=60] [TARGET...]   (CI short mode: SECONDS=20)
set -uo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD [SECONDS] [TARGET...]}
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
root=$(cd "$(dirname "$0")/.." && pwd)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(safetensors npy word_text word2vec_bin hdf5 ini tokenizer tokenizer_json gpt2_config)

mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=()
printf '%-14s %12s %10s  %s\n' target executions exec/s result
for t in "${targets[@]}"; do
  exe="$build/bin/fuzz_$t"
  if [[ ! -x $exe ]]; then
    echo "error: $exe missing (build the fuzz_targets target)" >&2
    failed+=("$t")
    continue
  fi
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work"
  log="$build/fuzz-logs/$t.log"
  # -rss_limit_mb/-malloc_limit_mb: a reader allocating from a lying length field is a finding.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" "$work" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  # libFuzzer ends with "Done N runs in S second(s)"; -print_final_stats gives stat::number_of_executed_units.
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  [[ -z $runs ]] && runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  [[ -z $runs ]] && runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  if grep -q '^SKIPPED' "$log"; then
    result="skipped: $(grep -m1 '^SKIPPED' "$log")"
  elif [[ $rc -eq 0 ]]; then
    result=ok
  else
    result="FAILED (exit $rc; log $log; input $(ls -t "$build"/fuzz-artifacts/"$t"-* 2>/dev/null | head -1))"
    failed+=("$t")
  fi
  printf '%-14s %12s %10s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$result"
  if [[ $rc -ne 0 ]]; then
    grep -m5 -E 'ERROR: |BUG: |runtime error|SUMMARY' "$log" | sed 's/^/    /'
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: failures in: ${failed[*]}" >&2
  exit 1
fi
