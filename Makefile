# Entry points. `make demo` and `make test` install missing Debian packages first.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: all deps configure build test demo bench fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

configure:
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) > /dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: deps build
	@bash scripts/demo.sh $(BUILD_DIR)/psrec

bench: build
	@bash scripts/bench.sh $(BUILD_DIR)

# libFuzzer targets (docs/fuzzing.md): a clang build with ASan+UBSan in build-fuzz/, then each
# target for FUZZ_SECONDS over fuzz/corpus/<target>/; fails on any crash.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DPSREC_FUZZ=ON -DPSREC_BUILD_TESTS=OFF -DPSREC_BUILD_BENCH=OFF > /dev/null
	@cmake --build $(FUZZ_DIR) --target psrec_fuzz -j $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh $(FUZZ_DIR)

clean:
	rm -rf $(BUILD_DIR)
