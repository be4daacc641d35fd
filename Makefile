# Thin wrapper over CMake; see README.md. Every target installs what is missing.
BUILD ?= build
JOBS ?= $(shell nproc)
# make fuzz: seconds per harness, and which harnesses (all when empty).
FUZZ_SECONDS ?= 60
FUZZ_ONLY ?=

.PHONY: all deps build demo test bench fuzz clean format

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target roster-demo
	@$(BUILD)/examples/demo/roster-demo

test:
	@scripts/test.sh

bench:
	@scripts/bench.sh $(BENCH_ARGS)

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_ONLY="$(FUZZ_ONLY)" scripts/fuzz.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD)-test-asan $(BUILD)-test-tsan $(BUILD)-release \
	  $(BUILD)-fuzz
