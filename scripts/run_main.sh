#!/usr/bin/env bash
# make run: the main job. Fetches GPT-2 first when the config needs it and it is absent.
set -uo pipefail
build=${1:-build}
config=${2:-configs/weight_tying.ini}
if grep -Eq '^\s*(path|model)\s*=\s*data/gpt2\b' "$config" && [[ ! -f data/gpt2/model.safetensors ]]; then
  echo "run: $config needs GPT-2 small in data/gpt2; fetching it (548 MB) ..."
  if ! "$build/bin/embedlab" fetch gpt2 --dest data; then
    echo "run: could not fetch GPT-2 (offline?). Retry with network access, or run an offline config: make run CONFIG=configs/random_variance.ini" >&2
    exit 69
  fi
fi
exec "$build/bin/run_experiment" "$config"
