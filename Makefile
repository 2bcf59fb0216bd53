# Thin wrapper over CMake. `make run` and `make test` install what is missing first (scripts/setup.sh).
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc)
CONFIG     ?= configs/weight_tying.ini
FUZZ_SECONDS ?= 60
SOURCES := $(shell git ls-files '*.cpp' '*.hpp' 2>/dev/null)

.PHONY: all build setup test run all-experiments bench asan fuzz format format-check fetch install clean config-reference

all: build

setup:
	@scripts/setup.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: setup
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j1

run: setup
	$(MAKE) build
	@scripts/run_main.sh $(BUILD) $(CONFIG)

all-experiments: build
	@scripts/all_experiments.sh $(BUILD)

bench: build
	@scripts/bench.sh $(BUILD)

asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEMBEDLAB_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j1

fuzz:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEMBEDLAB_FUZZ=ON
	cmake --build $(FUZZ_BUILD) --target fuzz_targets -j$(JOBS)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Every shipped config's data; a source that cannot be reached does not stop the others (the
# failures are listed at the end, with a non-zero exit).
FETCH_NAMES ?= gpt2 glove-6b-100d glove-wiki-gigaword-50 glove-twitter-50 brown-sentences
fetch: build
	@failed=""; for n in $(FETCH_NAMES); do \
	  echo "fetch: $$n"; \
	  $(BUILD)/bin/embedlab fetch "$$n" --dest data || failed="$$failed $$n"; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "fetch: FAILED:$$failed (the errors above say why; the other data is in place)" >&2; exit 1; \
	fi; echo "fetch: all of $(FETCH_NAMES) in data/"

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run --Werror $(SOURCES)

config-reference: build
	$(BUILD)/bin/run_experiment --config-reference

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
