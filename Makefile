# The two commands of the quick start, plus the developer targets.
#   make demo   install what is missing, build (Release), train the demo network
#   make check  install what is missing, build (Release), run every test
#   make python-install  the same build, then the Python package into Debian's python3
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
# Extra cmake options for the build, e.g. CMAKE_ARGS=-DCNNKIT_WARNINGS_AS_ERRORS=ON (CI).
CMAKE_ARGS ?=

.PHONY: all deps build demo check check-asan bench format clean python-install

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

# W1: LeNet-5 on Fashion-MNIST for 3 epochs into runs/lenet (model, metrics.csv, pictures); the
# last line printed is the test accuracy.
demo: build
	@scripts/install-deps.sh dataset-fashion-mnist
	$(BUILD)/tools/cnnkit train --model fashion-lenet --data fashion-mnist --epochs 3 --out runs/lenet

check: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The package cnnkit into the local dist-packages of /usr/bin/python3 (sysconfig's platlib), so
# that `python3 -c "import cnnkit"` works from any folder.
python-install: build
	cmake --build $(BUILD) --target python-install

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
check-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCNNKIT_SANITIZE=ON \
	  -DCNNKIT_BUILD_BENCH=OFF -DCNNKIT_BUILD_EXAMPLES=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

format:
	clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# libFuzzer on every fuzz/*_fuzz.cpp for FUZZ_SECONDS each, one after the other (clang, its own
# build folder). Seeds come from fuzz/corpus/<target>/; what the fuzzer finds goes to
# $(FUZZ_BUILD)/corpus/<target>/, a crashing input to $(FUZZ_BUILD)/<target>-crash-*.
# An input that takes more than 10 s (-timeout) or makes the process pass 2 GB (-rss_limit_mb,
# -malloc_limit_mb) counts as a finding too: memory blow-ups and slow inputs are bugs. Each
# target's dictionary holds its format's tokens and the deep-nesting and huge-size ones.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS  = $(basename $(notdir $(wildcard fuzz/*_fuzz.cpp)))

.PHONY: fuzz
fuzz:
	@scripts/install-deps.sh --fuzz
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCNNKIT_BUILD_FUZZERS=ON -DCNNKIT_BUILD_TESTS=OFF -DCNNKIT_BUILD_TOOLS=OFF \
	  -DCNNKIT_BUILD_BENCH=OFF -DCNNKIT_BUILD_EXAMPLES=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	@set -e; for target in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$target for $(FUZZ_SECONDS) s"; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$target; \
	  seeds=; [ -d fuzz/corpus/$$target ] && seeds=fuzz/corpus/$$target; \
	  dict=; [ -f fuzz/$$target.dict ] && dict=-dict=fuzz/$$target.dict; \
	  $(FUZZ_BUILD)/fuzz/$$target -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=$(FUZZ_BUILD)/$$target- $$dict $(FUZZ_BUILD)/corpus/$$target $$seeds; \
	done
