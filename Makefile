# chartsnap — two commands: `make run` and `make test`. Each sets up all it needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTOS := $(wildcard proto/chartsnap/v1/*.proto)

.PHONY: run test test-unit test-deploy images bench bench-scale proto proto-check tools venv clean

run: $(STAMP) tools
	$(PY) -m devstack

test: $(STAMP) tools proto-check
	$(PY) -m pytest -q tests

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

# The container images (deploy/Dockerfile and deploy/images/), built with podman
# on a local Debian bookworm base; layers are cached outside the repository.
images: $(STAMP) tools
	@scripts/build-images.sh

# Real containers: the images, the dev overlay under `podman kube play`, a snapshot
# end to end through the gateway's container, then the integration tier once with
# testcontainers against podman's Docker-compatible API.
test-deploy: $(STAMP) tools
	@scripts/test-deploy.sh

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

tools:
	@scripts/install-tools.sh

# Generated code lives in chartsnap/v1 and is committed; proto-check fails if
# it differs from what the .proto files produce.
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iproto --python_out=. --pyi_out=. --grpc_python_out=. $(PROTOS)

proto-check: $(STAMP)
	@tmp=$$(mktemp -d); \
	$(PY) -m grpc_tools.protoc -Iproto --python_out=$$tmp --pyi_out=$$tmp --grpc_python_out=$$tmp $(PROTOS) && \
	diff -r -x __init__.py -x __pycache__ $$tmp/chartsnap/v1 chartsnap/v1 >/dev/null && echo "proto-check: generated code is up to date" || \
	{ echo "proto-check: chartsnap/v1 is out of date with proto/: run 'make proto'"; rm -rf $$tmp; exit 1; }; \
	rm -rf $$tmp

bench: $(STAMP) tools
	$(PY) -m bench $(BENCH_ARGS)

# Burst throughput on PostgreSQL with 1 and 2 render and snapshot replicas,
# and the projection to 8, 32 and 128 cores (bench/scale.py).
bench-scale: $(STAMP) tools
	$(PY) -m bench.scale $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
