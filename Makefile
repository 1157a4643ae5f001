# Tailor: build, test and run. GNU make.
#
# `make` alone prints this list of targets (the default goal is `help`).
#
# ONNX Runtime 1.24.1 is found by scripts/onnxruntime.sh (TAILOR_ONNXRUNTIME_LIB,
# then the cache in ~/.cache/tailor, then `npm pack`). It runs only in the
# recipes that need the library, never when this file is parsed; when it fails,
# the target fails with its message.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# Debian's interpreter: the ONNX checker test runs it, not a python on PATH.
DEBIAN_PYTHON := /usr/bin/python3
TEST_TIMEOUT ?= 30m
# Extra flags for `make run`, e.g. make run ARGS='-addr :9090'.
ARGS ?=

# ONNX Runtime and the models need cgo.
export CGO_ENABLED := 1

# with_ort prefixes a command with TAILOR_ONNXRUNTIME_LIB set to the library
# that scripts/onnxruntime.sh prints; the command does not run if it fails.
with_ort = lib=$$(bash scripts/onnxruntime.sh) && export TAILOR_ONNXRUNTIME_LIB="$$lib" &&

.PHONY: help ort deps build test models evaluate bench run clean

help: ## list the targets
	@echo 'Targets (make <target>; `make` alone prints this):'
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## (.*)/  \1\t\2/' | expand -t 12

ort: ## fetch ONNX Runtime 1.24.1 if needed and print its path
	@bash scripts/onnxruntime.sh

deps: ## install what the tests need: python3-onnx (when root) and the Go modules
	@if $(DEBIAN_PYTHON) -c 'import onnx' >/dev/null 2>&1; then \
		echo 'deps: python3-onnx is installed'; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo 'deps: installing python3-onnx for the ONNX checker test'; \
		apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-onnx; \
		$(DEBIAN_PYTHON) -c 'import onnx' || { echo 'deps: python3-onnx installed but `import onnx` fails' >&2; exit 1; }; \
	else \
		echo 'deps: WARNING: $(DEBIAN_PYTHON) cannot import onnx and this is not root;' >&2; \
		echo 'deps: install python3-onnx (sudo apt-get install python3-onnx), or the ONNX checker test fails under CI=true' >&2; \
	fi
	$(GO) mod download

build: ## build bin/tailor-serve and bin/tailor-train
	$(GO) build -o bin/tailor-serve ./cmd/serve
	$(GO) build -o bin/tailor-train ./cmd/train

test: deps ## go vet and the whole test suite, with ONNX Runtime (CI passes through)
	$(GO) vet ./...
	@$(with_ort) echo "test: TAILOR_ONNXRUNTIME_LIB=$$TAILOR_ONNXRUNTIME_LIB CI=$${CI:-}" && \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

models: ## retrain models/ and data/features/ from data/online-retail/
	@$(with_ort) $(GO) run ./cmd/train

evaluate: build ## offline quality benchmark (also over HTTP through bin/tailor-serve); writes benchmarks/RESULTS.md and the validation block of models/*.card.json
	@$(with_ort) $(GO) run ./benchmarks/quality

bench: build ## load, latency, memory and start-up benchmark on loopback; writes benchmarks/RESULTS.md
	@$(with_ort) $(GO) run ./benchmarks/load

run: build ## start bin/tailor-serve on the bundled data and default models
	@$(with_ort) exec bin/tailor-serve $(ARGS)

clean: ## remove bin/
	rm -rf bin/
