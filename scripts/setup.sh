#!/usr/bin/env bash
# Installs the Debian packages embedlab needs (idempotent). As root it runs apt-get; otherwise it
# prints the exact sudo command and stops. It fetches nothing else.
set -euo pipefail

# Build and run time (each named in README.md with the reason).
PACKAGES=(
  build-essential cmake pkg-config git
  libarmadillo-dev libopenblas-dev libhdf5-dev
  libboost-program-options-dev libboost-test-dev libboost-iostreams-dev libboost-dev
  libfmt-dev nlohmann-json3-dev libsimdjson-dev libpcre2-dev libicu-dev zlib1g-dev libssl-dev libcurl4-openssl-dev ca-certificates
  gnuplot-nox clang-format
  libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-scipy
)
# Peers for `make bench`, the gensim/scipy reference generators and fuzzing (EMBEDLAB_SETUP_EXTRA=1).
EXTRA=(python3-gensim python3-h5py python3-faiss python3-torch clang libclang-rt-14-dev)

wanted=("${PACKAGES[@]}")
# The tokenizer oracle of `make test` (Hugging Face tokenizers' Node build, npm ci): node and npm from
# Debian unless some node + npm are already on PATH (e.g. a NodeSource nodejs, which bundles npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then wanted+=(nodejs npm); fi
if [[ "${EMBEDLAB_SETUP_EXTRA:-0}" == 1 ]]; then wanted+=("${EXTRA[@]}"); fi

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
echo "setup: missing Debian packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: run as root, or: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Optional peers may not exist on every Debian release: install them one by one, tolerating absence.
core=() opt=()
for p in "${missing[@]}"; do
  if printf '%s\n' "${EXTRA[@]}" | grep -qx "$p"; then opt+=("$p"); else core+=("$p"); fi
done
if [[ ${#core[@]} -gt 0 ]]; then apt-get install -y -qq --no-install-recommends "${core[@]}"; fi
for p in "${opt[@]}"; do
  apt-get install -y -qq --no-install-recommends "$p" || echo "setup: optional package $p is not available; skipping"
done
