# The two commands: `make demo` and `make test`. Both install missing Debian packages first.
# `make` alone builds build/dlcc (release) and the library.
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

.PHONY: all deps build demo test clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDLCC_WERROR=ON >/dev/null
	@cmake --build build -j $(JOBS)

# The main job on a project dlcc generates itself.
demo: build
	@bash scripts/demo.sh

# Whole suite under AddressSanitizer + UndefinedBehaviorSanitizer; both the optimised build (whose
# warnings only -O2 reveals) and the sanitizer build treat warnings as errors.
test: build
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDLCC_SANITIZE=ON -DDLCC_WERROR=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf build build-asan
