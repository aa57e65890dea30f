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
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DPSREC_FUZZ=ON -DPSREC_BUILD_TESTS=OFF -DPSREC_BUILD_BENCH=OFF > /dev/null
	@cmake --build $(FUZZ_DIR) --target psrec_fuzz -j $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh $(FUZZ_DIR)

# CI's sanitizer and fuzz stages (.ci/run calls them after `make test`; docs/fuzzing.md).
# ci-sanitize: the whole test suite built with clang under ASan+UBSan (PSREC_FUZZ=ON also
#   builds the fuzz targets' coverage hooks, so ci-fuzz reuses this build directory).
# ci-tsan: the ps/, client/ and train/ tests under ThreadSanitizer.
# ci-fuzz: each fuzz target for CI_FUZZ_SECONDS over its seed corpus.
# Open MPI's own at-exit leaks and races are suppressed by sanitizers/*.supp.
# Compiler launcher for the clang builds: PSREC_CCACHE=1 (or CMAKE_CXX_COMPILER_LAUNCHER=ccache,
# which CMake itself reads from the environment) compiles through ccache, so that a rerun of a
# stage on a developer machine is cheap. CI runs on a clean machine and sets neither.
CLANG_LAUNCHER = $(if $(PSREC_CCACHE),-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
CI_FUZZ_SECONDS ?= 30
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/sanitizers/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  TSAN_OPTIONS=suppressions=$(CURDIR)/sanitizers/tsan.supp:halt_on_error=1:second_deadlock_stack=1

.PHONY: ci-sanitize ci-tsan ci-fuzz

ci-sanitize: deps
	@CC=clang CXX=clang++ cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DPSREC_FUZZ=ON -DPSREC_BUILD_TESTS=ON -DPSREC_BUILD_BENCH=OFF $(CLANG_LAUNCHER) > /dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

ci-tsan: deps
	@CC=clang CXX=clang++ cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DPSREC_SANITIZE=thread -DPSREC_BUILD_TESTS=ON -DPSREC_BUILD_BENCH=OFF $(CLANG_LAUNCHER) > /dev/null
	@cmake --build $(TSAN_DIR) -j $(JOBS) --target psrec_tests_ps psrec_tests_client psrec_tests_train
	cd $(TSAN_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) -L '^(ps|client|train)$$' $(CTEST_ARGS)

ci-fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DPSREC_FUZZ=ON -DPSREC_BUILD_TESTS=ON -DPSREC_BUILD_BENCH=OFF $(CLANG_LAUNCHER) > /dev/null
	@cmake --build $(ASAN_DIR) --target psrec_fuzz -j $(JOBS)
	@FUZZ_SECONDS=$(CI_FUZZ_SECONDS) bash scripts/fuzz.sh $(ASAN_DIR)

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR) $(ASAN_DIR) $(TSAN_DIR)
