#!/usr/bin/env bash
# Sample runs for the README: every experiment's config on the offline reference data
# (tests/data, or $EMBEDLAB_DATA), through --set overrides, into a temporary results directory;
# one representative plot per experiment is copied to docs/samples/<experiment>.png.
# The configs' sample counts are kept (all nine runs take about 30 s on 2 cores); only rsa runs on
# 200 words instead of 400, to keep its RDM image small.
# Usage: scripts/samples.sh [BUILD]   (BUILD defaults to build; SAMPLES_KEEP=1 keeps the results)
set -euo pipefail
# BUILD and $EMBEDLAB_DATA are taken relative to the caller's directory, the defaults to the project root.
caller=$PWD
cd "$(dirname "$0")/.."
abs() { [[ $1 == /* ]] && echo "$1" || echo "$caller/$1"; }
build=$([[ $# -ge 1 ]] && abs "$1" || echo build)
runner="$build/bin/run_experiment"
data=$([[ -n "${EMBEDLAB_DATA:-}" ]] && abs "$EMBEDLAB_DATA" || echo tests/data)
out=docs/samples

if [[ ! -x "$runner" ]]; then
  echo "samples: $runner not found (run: make build)" >&2
  exit 66
fi
for f in gpt2-golden/tiny-gpt2/model.safetensors gpt2-tokenizer/encoder.json gpt2-wpe/gpt2-wpe-lnf.safetensors \
  glove-6B-50d-subset/glove.6B.50d.subset3091.txt peer-files/wordsim353.tsv peer-files/simlex999.txt \
  peer-files/questions-words.txt; do
  if [[ ! -f "$data/$f" ]]; then
    echo "samples: reference data absent: $data/$f (set EMBEDLAB_DATA to the reference data folder)" >&2
    exit 66
  fi
done
data=$(cd "$data" && pwd)
tiny="$data/gpt2-golden/tiny-gpt2"
tok="$data/gpt2-tokenizer"
glove="$data/glove-6B-50d-subset/glove.6B.50d.subset3091.txt"
wpe="$data/gpt2-wpe/gpt2-wpe-lnf.safetensors"
peer="$data/peer-files"

results=$(mktemp -d)
if [[ -n "${SAMPLES_KEEP:-}" ]]; then
  echo "samples: results kept in $results"
else
  trap 'rm -rf "$results"' EXIT
fi
mkdir -p "$out"

# run EXPERIMENT CONFIG PLOT [--set ...]: runs CONFIG, copies PLOT of the run to docs/samples/EXPERIMENT.png.
run() {
  local exp=$1 cfg=$2 plot=$3
  shift 3
  local start=$SECONDS
  "$runner" "configs/$cfg" --results "$results" --threads 2 --quiet "$@"
  local dir="$results/$exp/latest"
  cp "$dir/$plot" "$out/$exp.png"
  printf '%-22s %3d s  %s/report.md -> %s\n' "$exp" $((SECONDS - start)) "$(readlink -f "$dir")" "$out/$exp.png"
}

total=$SECONDS
# GPT-2 model experiments: tiny-gpt2 (random weights, real 50257-token vocabulary) with the real
# GPT-2 tokenizer, so the configs' text prompts run unchanged.
gpt2=(--set model.path="$tiny" --set model.tokenizer="$tok")
run weight_tying weight_tying.ini z_vs_cos_1.png "${gpt2[@]}"
run softmax_sensitivity softmax_sensitivity.ini entropy_vs_scale.png "${gpt2[@]}"
run logit_lens logit_lens.ini rank_vs_layer.png "${gpt2[@]}"
run layer_geometry layer_geometry.ini anisotropy.png "${gpt2[@]}"
# Word spaces: the GloVe 6B 50d subset (3,091 words) and gensim's benchmark files.
run token_similarity glove_similarity.ini similarity.png --set embeddings.path="$glove"
run vocab_geometry vocab_geometry.ini cosine_histogram.png --set embeddings.path="$glove"
# 200 words instead of 400: the RDM image of 400 words is a 400 KB PNG.
run rsa rsa_halves.ini rdm_a.png --set space_a.path="$glove" --set words.count=200
run word_benchmarks word_benchmarks.ini pairs_wordsim353.png --set embeddings.path="$glove" \
  --set embeddings.format=glove --set benchmarks.word_pairs="$peer/wordsim353.tsv,$peer/simlex999.txt" \
  --set benchmarks.analogies="$peer/questions-words.txt"
# The real GPT-2 small position embeddings.
run position_embeddings position_embeddings.ini cosine_matrix.png --set embeddings.path="$wpe" \
  --set embeddings.tensor=wpe.weight
# No data: the config as it is.
run random_variance random_variance.ini variance_vs_d.png
echo "samples: $((SECONDS - total)) s; plots in $out/"
