#!/usr/bin/env bash
# make all-experiments: runs every configs/*.ini with BUILD/bin/run_experiment and writes
# RESULTS/SUMMARY.md (RESULTS defaults to results/) linking each report with its headline.
# A config whose input data is absent (the runner exits 78 with "input not found … make fetch") is
# SKIPPED, not failed, with the exact `embedlab fetch` command that brings its data.
# Exit status: 1 when any run FAILED, else 0.
# Usage: scripts/all_experiments.sh [BUILD] [RESULTS]
set -uo pipefail
build=${1:-build}
results=${2:-results}
runner="$build/bin/run_experiment"
if [[ ! -x "$runner" ]]; then
  echo "all-experiments: $runner not found (run: make build)" >&2
  exit 66
fi
mkdir -p "$results" || exit 73
# Absolute, so plot files land in the run directory whatever the runner's working directory.
results=$(cd "$results" && pwd) || exit 73
scratch=$(mktemp -d) || exit 73
trap 'rm -rf "$scratch"' EXIT

# headline RUN_DIR: the /headline attribute of its results.h5 (empty when absent or unreadable).
headline() {
  local h5="$results/$1/results.h5"
  [[ -f "$h5" && -x /usr/bin/python3 ]] || return 0
  /usr/bin/python3 - "$h5" 2>/dev/null <<'PY' || true
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    v = f.attrs.get("headline")
    if v is not None:
        print((v.decode() if isinstance(v, bytes) else str(v)).replace("|", "\\|").replace("\n", " "))
PY
}

# fetch_commands ERRFILE: the embedlab fetch command(s) bringing the absent inputs named in ERRFILE
# ("input not found (got 'data/…'"), joined by " && ".
fetch_commands() {
  local path name cmds=()
  while IFS= read -r path; do
    case "$path" in
      data/gpt2 | data/gpt2/*) name=gpt2 ;;
      data/glove-6b-100d | data/glove-6b-100d/*) name=glove-6b-100d ;;
      data/glove-wiki-gigaword-50*) name=glove-wiki-gigaword-50 ;;
      data/glove-twitter-50*) name=glove-twitter-50 ;;
      data/glove-twitter-25*) name=glove-twitter-25 ;;
      *) name="" ;;
    esac
    local cmd="make fetch"
    [[ -n "$name" ]] && cmd="$build/bin/embedlab fetch $name --dest data"
    [[ " ${cmds[*]} " == *" $cmd "* ]] || cmds+=("$cmd")
  done < <(sed -n "s/.*input not found (got '\([^']*\)'.*/\1/p" "$1")
  local IFS='&'
  local joined="${cmds[*]}"
  echo "${joined//&/ && }"
}

failed=0 ok=0 skipped=0
rows=()
for cfg in configs/*.ini; do
  exp=$(sed -n 's/^[[:space:]]*name[[:space:]]*=[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' "$cfg" | head -n 1)
  [[ -n "$exp" ]] || exp=$(basename "$cfg" .ini)
  printf '%-40s ' "$cfg"
  start=$SECONDS
  "$runner" "$cfg" --results "$results" --quiet >"$scratch/out" 2>"$scratch/err"
  rc=$?
  secs=$((SECONDS - start))
  err=$(tr '\n' ' ' <"$scratch/err" | sed 's/|/\\|/g; s/[[:space:]]*$//')
  if [[ $rc -eq 0 ]]; then
    ok=$((ok + 1))
    # Runs are sequential: `latest` now names this run (several configs may share an experiment).
    run="$exp/$(basename "$(readlink "$results/$exp/latest")")"
    line=$(headline "$run")
    echo "ok (${secs} s)${line:+ — $line}"
    rows+=("| \`$cfg\` | \`$exp\` | ok | [report]($run/report.md) | ${line:-—} |")
  elif [[ $rc -eq 78 && "$err" == *"make fetch"* ]] && ! grep -v 'input not found' "$scratch/err" | grep -q .; then
    # Every problem is an absent input: the data has not been fetched.
    skipped=$((skipped + 1))
    fetch=$(fetch_commands "$scratch/err")
    echo "SKIPPED (data absent: run \`$fetch\`)"
    rows+=("| \`$cfg\` | \`$exp\` | SKIPPED | — | input data absent; fetch it with \`$fetch\` ($err) |")
  else
    failed=$((failed + 1))
    echo "FAILED (exit $rc): $err"
    rows+=("| \`$cfg\` | \`$exp\` | **FAILED** (exit $rc) | — | $err |")
  fi
done

{
  echo "# All experiments"
  echo
  echo "Generated $(date -u +%Y-%m-%dT%H:%M:%SZ) by \`scripts/all_experiments.sh $build\` from \`configs/*.ini\`:"
  echo "$ok ok, $skipped skipped, $failed failed."
  echo
  echo "| config | experiment | status | report | headline |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$results/.SUMMARY.md.tmp.$$" && mv -f "$results/.SUMMARY.md.tmp.$$" "$results/SUMMARY.md" || {
  rm -f "$results/.SUMMARY.md.tmp.$$"
  echo "all-experiments: cannot write $results/SUMMARY.md" >&2
  exit 73
}
echo "summary: $results/SUMMARY.md ($ok ok, $skipped skipped, $failed failed)"
[[ $failed -eq 0 ]]
