# Thin wrapper over CMake; see README.md. Every target installs what is missing.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build demo test bench clean format

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(BUILD)/examples/demo/roster-demo

test:
	@scripts/test.sh

bench: deps
	@cmake -S . -B $(BUILD)-release -DCMAKE_BUILD_TYPE=Release -DROSTER_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)-release -j $(JOBS) --target roster-bench-registry roster-bench-lifecycle roster-bench-config roster-bench-log roster-bench-cron roster-bench-cache
	@$(BUILD)-release/bench/roster-bench-registry
	@$(BUILD)-release/bench/roster-bench-lifecycle
	@$(BUILD)-release/bench/roster-bench-config
	@$(BUILD)-release/bench/roster-bench-log
	@$(BUILD)-release/bench/roster-bench-cron
	@$(BUILD)-release/bench/roster-bench-cache

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-release
