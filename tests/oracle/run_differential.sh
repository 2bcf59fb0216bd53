#!/usr/bin/env bash
# The differential tokenizer test (CTest tokenizer_oracle): installs the oracle (npm ci of the
# committed lockfile into the build tree, never the source tree), builds GPT-2's and BERT's
# tokenizer.json with it, has it encode the corpus for every tokenizer, and compares our ids.
#   run_differential.sh SOURCE_DIR WORK_DIR TOKENIZER_DIFFERENTIAL_BINARY
# A missing node/npm or a failed install fails the test (there is no skip).
set -euo pipefail
src=$1 work=$2 bin=$3
seed=${EMBEDLAB_ORACLE_SEED:-20261202}
count=${EMBEDLAB_ORACLE_COUNT:-3000}
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "tokenizer_oracle: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
mkdir -p "$work"
cp "$src/tests/oracle/package.json" "$src/tests/oracle/package-lock.json" "$src/tests/oracle/oracle.js" "$work/"
cd "$work"
if ! cmp -s package-lock.json node_modules/.embedlab-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.embedlab-lock
fi
node oracle.js build "$work/built" "$src/tests/data/gpt2-tokenizer" "$src/tests/data/bert-base-uncased/vocab.txt"
args=()
for name in gpt2 bert-base-uncased llama2 llama3 qwen3; do
  if [[ -f "$work/built/$name/tokenizer.json" ]]; then file="$work/built/$name/tokenizer.json"; else file=$(node oracle.js path "$name"); fi
  node oracle.js encode "$file" "$seed" "$count" "$work/expected-$name.json"
  args+=("$name" "$file" "$work/expected-$name.json")
done
exec "$bin" "${args[@]}"
